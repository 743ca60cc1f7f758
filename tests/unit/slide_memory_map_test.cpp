// SPDX-License-Identifier: MulanPSL-2.0
#include <gtest/gtest.h>

#include "etmem/kernel/memory_map.hpp"

using namespace etmem::kernel;

namespace {

// A sample of /proc/PID/smaps with one mapping of each kind the filter must decide on.
constexpr const char* kSmaps =
    R"(55d4c0a00000-55d4c0a21000 rw-p 00000000 00:00 0                          [heap]
Size:                132 kB
Rss:                  12 kB
AnonHugePages:         0 kB
Locked:                0 kB
VmFlags: rd wr mr mw me ac sd
7f0000000000-7f0000400000 rw-p 00000000 00:00 0 
Size:               4096 kB
Rss:                4096 kB
AnonHugePages:      2048 kB
Locked:                0 kB
VmFlags: rd wr mr mw me ac sd hg
7f0000400000-7f0000401000 ---p 00000000 00:00 0 
Size:                  4 kB
Rss:                   0 kB
VmFlags: mr mw me ac sd
7f0000500000-7f0000600000 rw-s 00000000 00:05 1234                       /dev/shm/x
Size:               1024 kB
Rss:                1024 kB
VmFlags: rd wr sh mr mw me ms sd
7f0000600000-7f0000700000 rw-p 00000000 00:00 0 
Size:               1024 kB
Rss:                1024 kB
Locked:             1024 kB
VmFlags: rd wr mr mw me lo ac sd
7f0000700000-7f0000800000 rw-p 00000000 00:00 0 
Size:               1024 kB
Rss:                1024 kB
Locked:                0 kB
VmFlags: rd wr mr mw me lo ac sd
7f0000800000-7f0000a00000 rw-p 00000000 00:0f 99                         /anon_hugepage (deleted)
Size:               2048 kB
Rss:                2048 kB
VmFlags: rd wr mr mw me de ht sd
7f0000a00000-7f0000a10000 rw-p 00001000 08:01 42                         /usr/lib/libfoo.so
Size:                 64 kB
Rss:                   8 kB
Locked:                0 kB
VmFlags: rd wr mr mw me ac sd
7f0000b00000-7f0000b10000 rw-p 00000000 00:00 0 
Size:                 64 kB
Rss:                   0 kB
VmFlags: rd wr mr mw me ac sd
7ffd1000-7ffd3000 rw-p 00000000 00:00 0                                  [stack]
Size:                  8 kB
Rss:                   8 kB
VmFlags: rd wr mr mw me gd ac
7ffd5000-7ffd7000 r--p 00000000 00:00 0                                  [vvar]
Size:                  8 kB
Rss:                   0 kB
7ffd7000-7ffd9000 r-xp 00000000 00:00 0                                  [vdso]
Size:                  8 kB
Rss:                   4 kB
VmFlags: rd ex mr mw me de sd
7ffd9000-7ffda000 rw-p 00000000 00:00 0                                  [anon:jemalloc]
Size:                  4 kB
Rss:                   4 kB
VmFlags: rd wr mr mw me ac sd
7ffdb000-7ffdc000 rw-p 00000000 00:05 77                                 /dev/mem
Size:                  4 kB
Rss:                   4 kB
VmFlags: rd wr mr mw me io pf sd
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
)";

std::vector<std::string> names(const std::vector<Vma>& vmas) {
    std::vector<std::string> result;
    for (const auto& vma : vmas) result.push_back(vma.name);
    return result;
}

}  // namespace

TEST(SlideMemoryMap, KeepsOnlyPrivateResidentUnlockedOrdinaryMappings) {
    auto vmas = parseCandidateVmas(kSmaps);
    // Sorted by address: the stack mapping (0x7ffd1000) comes first.
    EXPECT_EQ(names(vmas), (std::vector<std::string>{"[stack]", "[anon:jemalloc]", "[heap]", "",
                                                     "/usr/lib/libfoo.so"}));
    ASSERT_EQ(vmas.size(), 5u);
    EXPECT_EQ(vmas[3].range, (PageRange{0x7f0000000000, 0x7f0000400000}));
    EXPECT_TRUE(vmas[3].mayHaveHugePages);
    EXPECT_FALSE(vmas[2].mayHaveHugePages);
    EXPECT_EQ(vmas[3].range.pages(), 1024u);
}

TEST(SlideMemoryMap, MapsTextWithoutSmapsFieldsUsesPermissionsAndNames) {
    auto vmas = parseCandidateVmas(
        "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon\n"
        "00e03000-00e24000 rw-p 00000000 00:00 0           [heap]\n"
        "35b1800000-35b1820000 rw-s 00000000 08:02 135522  /usr/lib64/ld-2.15.so\n"
        "7fff5000-7fff6000 r--p 00000000 00:00 0           [vvar]\n");
    EXPECT_EQ(names(vmas), (std::vector<std::string>{"/usr/bin/dbus-daemon", "[heap]"}));
}

TEST(SlideMemoryMap, ReadOnlyMappingsWithoutAnonymousPagesHoldNoCandidates) {
    auto vmas = parseCandidateVmas(
        R"(7f0000000000-7f0000010000 r-xp 00000000 08:01 42    /usr/lib/libfoo.so
Size:                 64 kB
Rss:                  32 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
7f0000010000-7f0000012000 r--p 00010000 08:01 42    /usr/lib/libfoo.so
Size:                  8 kB
Rss:                   8 kB
Anonymous:             4 kB
VmFlags: rd mr mw me ac sd
7f0000012000-7f0000014000 rw-p 00012000 08:01 42    /usr/lib/libfoo.so
Size:                  8 kB
Rss:                   4 kB
Anonymous:             0 kB
VmFlags: rd wr mr mw me ac sd
)");
    ASSERT_EQ(vmas.size(), 3u);
    // Code without anonymous copies: nothing to classify, and it cannot be written.
    EXPECT_FALSE(vmas[0].mayHoldCandidatePages);
    // Relocated read-only data: its anonymous copies are candidates.
    EXPECT_TRUE(vmas[1].mayHoldCandidatePages);
    // Writable: may get anonymous copies during the cycle.
    EXPECT_TRUE(vmas[2].mayHoldCandidatePages);
    // maps does not tell: every mapping may hold candidates.
    auto fromMaps = parseCandidateVmas("00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/x\n");
    ASSERT_EQ(fromMaps.size(), 1u);
    EXPECT_TRUE(fromMaps[0].mayHoldCandidatePages);
}

TEST(SlideMemoryMap, IgnoresGarbageLines) {
    EXPECT_TRUE(parseCandidateVmas("hello world\n\nSize: 4 kB\nzz-yy rw-p 0 0 0\n").empty());
}

TEST(SlideRanges, CoalesceMergesTouchingAndOverlappingRanges) {
    auto merged = coalesce(
        {{0x5000, 0x6000}, {0x1000, 0x2000}, {0x2000, 0x3000}, {0x5800, 0x7000}, {0x9000, 0x9000}});
    EXPECT_EQ(merged, (std::vector<PageRange>{{0x1000, 0x3000}, {0x5000, 0x7000}}));
}

TEST(SlideRanges, AppendPagesExtendsTheLastRangeOnlyWhenAdjacent) {
    std::vector<PageRange> ranges;
    appendPages(ranges, 0x1000);
    appendPages(ranges, 0x2000);
    appendPages(ranges, 0x4000, 2);
    EXPECT_EQ(ranges, (std::vector<PageRange>{{0x1000, 0x3000}, {0x4000, 0x6000}}));
}

TEST(SlideRanges, IovecBatchesHoldAtMostIovMaxRangesInOrder) {
    std::vector<PageRange> ranges;
    for (std::uint64_t i = 0; i < 2500; ++i)
        ranges.push_back({0x10000000 + i * 2 * kPageSize, 0x10000000 + (i * 2 + 1) * kPageSize});
    auto batches = toIovecBatches(ranges);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0].size(), kMaxIovecsPerCall);
    EXPECT_EQ(batches[1].size(), kMaxIovecsPerCall);
    EXPECT_EQ(batches[2].size(), 2500 - 2 * kMaxIovecsPerCall);
    std::size_t index = 0;
    for (const auto& batch : batches) {
        for (const auto& iov : batch) {
            EXPECT_EQ(reinterpret_cast<std::uint64_t>(iov.iov_base), ranges[index].start);
            EXPECT_EQ(iov.iov_len, kPageSize);
            ++index;
        }
    }
    EXPECT_EQ(toIovecBatches(ranges, 1000).size(), 3u);
    EXPECT_TRUE(toIovecBatches(std::vector<PageRange>{}).empty());
}
