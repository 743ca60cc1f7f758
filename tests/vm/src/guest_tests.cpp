// SPDX-License-Identifier: MulanPSL-2.0
// Tests that run INSIDE a VM test guest (tests/vm/etmem-vm-run), as root, on a kernel the host
// does not have. A test whose feature the runner promised (ETMEM_VM_FEATURES) fails when the
// feature is absent; otherwise (e.g. run by hand on a host) it is skipped.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "guest_memory.hpp"
#include "guest_numa.hpp"

namespace {

using etmem::vm::Mapping;
using etmem::vm::Pagemap;
using etmem::vm::pageSize;

bool promised(const std::string& feature) {
    const char* list = std::getenv("ETMEM_VM_FEATURES");
    return list != nullptr &&
           ("," + std::string(list) + ",").find("," + feature + ",") != std::string::npos;
}

#define REQUIRE_FEATURE(feature, available, why)                                         \
    do {                                                                                 \
        if (!(available)) {                                                              \
            if (promised(feature)) FAIL() << feature << " promised but absent: " << why; \
            GTEST_SKIP() << feature << " unavailable: " << why;                          \
        }                                                                                \
    } while (false)

// A byte that depends on its position, so a page swapped back in at the wrong place shows.
unsigned char patternByte(std::size_t index) {
    return static_cast<unsigned char>((index * 2654435761U) >> 13);
}

// Pipe pair with RAII ends.
struct Pipe {
    etmem::UniqueFd read;
    etmem::UniqueFd write;
    Pipe() {
        int ends[2] = {-1, -1};
        if (::pipe2(ends, O_CLOEXEC) == 0) {
            read.reset(ends[0]);
            write.reset(ends[1]);
        }
    }
};

template <typename T>
bool sendValue(const etmem::UniqueFd& fd, const T& value) {
    return ::write(fd.get(), &value, sizeof value) == static_cast<ssize_t>(sizeof value);
}
template <typename T>
bool receiveValue(const etmem::UniqueFd& fd, T& value) {
    return ::read(fd.get(), &value, sizeof value) == static_cast<ssize_t>(sizeof value);
}

// The child: fill a region, report its address, wait, then check every byte and report the
// number of wrong bytes. Runs in a forked process; exits, never returns.
[[noreturn]] void pageoutChild(std::size_t length, const Pipe& toParent, const Pipe& toChild) {
    Mapping region(length);
    if (!region.valid()) ::_exit(3);
    ::madvise(region.bytes(), length, MADV_NOHUGEPAGE);
    for (std::size_t i = 0; i < length; ++i) region.bytes()[i] = patternByte(i);
    auto address = reinterpret_cast<std::uintptr_t>(region.bytes());
    if (!sendValue(toParent.write, address)) ::_exit(4);
    char go = 0;
    if (!receiveValue(toChild.read, go)) ::_exit(5);
    std::uint64_t wrong = 0;
    for (std::size_t i = 0; i < length; ++i) wrong += region.bytes()[i] != patternByte(i);
    ::_exit(sendValue(toParent.write, wrong) ? 0 : 6);
}

TEST(ZramSwap, IsActive) {
    std::string swaps = etmem::vm::readFile("/proc/swaps");
    REQUIRE_FEATURE("zram", swaps.find("/dev/zram") != std::string::npos,
                    "no zram device in /proc/swaps (run guest/zram-swap first)");
    SUCCEED() << swaps;
}

TEST(ProcessMadvise, PageoutMovesChildMemoryToSwapAndBack) {
    REQUIRE_FEATURE("swap",
                    etmem::vm::readFile("/proc/swaps").find('\n') <
                        etmem::vm::readFile("/proc/swaps").size() - 1,
                    "no active swap device");
    constexpr std::size_t kLength = 64UL << 20;
    Pipe toParent;
    Pipe toChild;
    ASSERT_TRUE(toParent.read && toChild.read);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) pageoutChild(kLength, toParent, toChild);

    std::uintptr_t address = 0;
    ASSERT_TRUE(receiveValue(toParent.read, address)) << "child did not start";
    long swapBefore = etmem::vm::statusKb(child, "VmSwap").value_or(-1);
    auto pidfd = etmem::vm::pidfdOpen(child);
    ASSERT_TRUE(pidfd) << "pidfd_open: " << std::strerror(errno);
    long advised = etmem::vm::processMadvise(pidfd.get(), reinterpret_cast<void*>(address), kLength,
                                             MADV_PAGEOUT);
    int error = errno;
    long swapAfter = etmem::vm::statusKb(child, "VmSwap").value_or(-1);
    char go = 1;
    ASSERT_TRUE(sendValue(toChild.write, go));
    std::uint64_t wrong = ~0ULL;
    bool reported = receiveValue(toParent.read, wrong);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);

    ASSERT_EQ(advised, static_cast<long>(kLength)) << "process_madvise: " << std::strerror(error);
    // Reclaim may skip a few pages (e.g. still on a per-CPU LRU batch): allow 10%.
    EXPECT_GE(swapAfter - swapBefore, static_cast<long>(kLength / 1024 * 9 / 10))
        << "VmSwap " << swapBefore << " kB -> " << swapAfter << " kB";
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    ASSERT_TRUE(reported);
    EXPECT_EQ(wrong, 0U) << "bytes that came back from swap changed";
}

// Reads and writes bits of /sys/kernel/mm/page_idle/bitmap for single PFNs.
class IdleBitmap {
  public:
    IdleBitmap() : fd_(::open("/sys/kernel/mm/page_idle/bitmap", O_RDWR | O_CLOEXEC)) {}
    bool valid() const { return fd_.valid(); }
    bool markIdle(std::uint64_t pfn) const {
        std::uint64_t word = 1ULL << (pfn % 64);
        return ::pwrite(fd_.get(), &word, sizeof word, offset(pfn)) == sizeof word;
    }
    bool isIdle(std::uint64_t pfn) const {
        std::uint64_t word = 0;
        if (::pread(fd_.get(), &word, sizeof word, offset(pfn)) != sizeof word) return false;
        return (word >> (pfn % 64)) & 1;
    }

  private:
    static off_t offset(std::uint64_t pfn) { return static_cast<off_t>(pfn / 64 * 8); }
    etmem::UniqueFd fd_;
};

TEST(IdlePageTracking, TouchedPagesReadNotIdleUntouchedStayIdle) {
    IdleBitmap bitmap;
    REQUIRE_FEATURE("idle_page_tracking", bitmap.valid(),
                    "cannot open /sys/kernel/mm/page_idle/bitmap (kernel option, or not root)");
    constexpr std::size_t kPages = 2048;
    Mapping region(kPages * pageSize());
    ASSERT_TRUE(region.valid());
    ::madvise(region.bytes(), region.length(), MADV_NOHUGEPAGE);
    for (std::size_t page = 0; page < kPages; ++page) region.bytes()[page * pageSize()] = 1;

    Pagemap pagemap(::getpid());
    std::vector<std::uint64_t> pfns(kPages);
    for (std::size_t page = 0; page < kPages; ++page) {
        auto entry = pagemap.entry(region.bytes() + page * pageSize());
        ASSERT_TRUE(entry && (*entry & etmem::vm::kPagemapPresent)) << "page " << page;
        pfns[page] = *entry & etmem::vm::kPagemapPfnMask;
        ASSERT_NE(pfns[page], 0U) << "PFNs read as 0: not root?";
    }
    for (auto pfn : pfns) ASSERT_TRUE(bitmap.markIdle(pfn));
    // Only pages on an LRU list can be tracked; ones still in a per-CPU batch read "not idle"
    // right after marking. Judge only the pages that took the mark.
    std::vector<bool> tracked(kPages);
    for (std::size_t page = 0; page < kPages; ++page) tracked[page] = bitmap.isIdle(pfns[page]);
    auto trackedCount = static_cast<std::size_t>(std::count(tracked.begin(), tracked.end(), true));
    ASSERT_GE(trackedCount, kPages / 2) << "too few pages could be marked idle";

    // Marking idle does not flush the TLB; a protection change does, so the touches below go
    // through a page-table walk that sets the accessed bit again.
    ASSERT_EQ(::mprotect(region.bytes(), region.length(), PROT_READ), 0);
    ASSERT_EQ(::mprotect(region.bytes(), region.length(), PROT_READ | PROT_WRITE), 0);
    for (std::size_t page = 0; page < kPages; page += 2) region.bytes()[page * pageSize()] += 1;

    std::size_t touchedTracked = 0, touchedSeen = 0, untouchedTracked = 0, untouchedIdle = 0;
    for (std::size_t page = 0; page < kPages; ++page) {
        if (!tracked[page]) continue;
        bool idle = bitmap.isIdle(pfns[page]);
        if (page % 2 == 0) {
            ++touchedTracked;
            touchedSeen += !idle;
        } else {
            ++untouchedTracked;
            untouchedIdle += idle;
        }
    }
    // Emulation may lose the odd access or reclaim-scan a page: margins, not exact counts.
    EXPECT_GE(touchedSeen * 100, touchedTracked * 95)
        << touchedSeen << " of " << touchedTracked << " touched pages read not idle";
    EXPECT_GE(untouchedIdle * 100, untouchedTracked * 95)
        << untouchedIdle << " of " << untouchedTracked << " untouched pages stayed idle";
}

TEST(SoftDirty, WrittenPagesAreMarked) {
    Mapping region(16 * pageSize());
    ASSERT_TRUE(region.valid());
    for (std::size_t page = 0; page < 16; ++page) region.bytes()[page * pageSize()] = 1;
    bool cleared = etmem::vm::writeFile("/proc/self/clear_refs", "4");
    REQUIRE_FEATURE("soft_dirty", cleared, "clear_refs does not accept 4");
    Pagemap pagemap(::getpid());
    for (std::size_t page = 0; page < 16; page += 2) region.bytes()[page * pageSize()] = 2;
    std::size_t dirtyWritten = 0, dirtyUntouched = 0;
    for (std::size_t page = 0; page < 16; ++page) {
        auto entry = pagemap.entry(region.bytes() + page * pageSize());
        ASSERT_TRUE(entry);
        bool dirty = (*entry & etmem::vm::kPagemapSoftDirty) != 0;
        (page % 2 == 0 ? dirtyWritten : dirtyUntouched) += dirty;
    }
    REQUIRE_FEATURE("soft_dirty", dirtyWritten > 0, "pagemap bit 55 never set");
    EXPECT_EQ(dirtyWritten, 8U);
    EXPECT_EQ(dirtyUntouched, 0U);
}

// The runner's tiered topology (etmem-vm-run --topology tiered): node 0 with the CPUs, node 1
// without CPUs, slower by its ACPI HMAT entries. Fails in a guest booted tiered when the kernel
// does not see it so; skipped elsewhere.
#define REQUIRE_TIERED_GUEST()                                                        \
    do {                                                                              \
        const char* topology = std::getenv("ETMEM_VM_TOPOLOGY");                      \
        if (topology == nullptr || std::string(topology) != "tiered")                 \
            GTEST_SKIP() << "not a guest booted with etmem-vm-run --topology tiered"; \
    } while (false)

TEST(MemoryTiers, SlowNodeSitsInALowerTierThanTheCpuNode) {
    REQUIRE_TIERED_GUEST();
    auto tiers = etmem::vm::memoryTiers();
    ASSERT_EQ(tiers.size(), 2U)
        << "expected two memory tiers in /sys/devices/virtual/memory_tiering";
    EXPECT_EQ(tiers[0].nodes, std::vector<int>{0})
        << "fastest tier (memory_tier" << tiers[0].id << ")";
    EXPECT_EQ(tiers[1].nodes, std::vector<int>{1})
        << "lower tier (memory_tier" << tiers[1].id << ")";
}

TEST(MemoryTiers, KernelDemotesNode0ToNode1) {
    REQUIRE_TIERED_GUEST();
    EXPECT_TRUE(std::filesystem::exists("/sys/kernel/mm/numa/demotion_enabled"));
    auto log = etmem::vm::runCommand("dmesg");
    ASSERT_EQ(log.status, 0);
    EXPECT_NE(log.output.find("Demotion targets for Node 0: preferred: 1"), std::string::npos)
        << "the kernel log names no demotion target for node 0";
}

TEST(MemoryTiers, SlowNodeHasMemoryButNoCpu) {
    REQUIRE_TIERED_GUEST();
    EXPECT_EQ(etmem::vm::parseNodeList(etmem::vm::readFile("/sys/devices/system/node/has_cpu")),
              std::vector<int>{0});
    EXPECT_EQ(etmem::vm::parseNodeList(etmem::vm::readFile("/sys/devices/system/node/has_memory")),
              (std::vector<int>{0, 1}));
    EXPECT_TRUE(
        etmem::vm::parseNodeList(etmem::vm::readFile("/sys/devices/system/node/node1/cpulist"))
            .empty());
}

TEST(MemoryTiers, MovePagesMovesBetweenTiersAndKeepsValues) {
    REQUIRE_TIERED_GUEST();
    constexpr std::size_t kPages = 4096;  // 16 MiB
    Mapping region(kPages * pageSize());
    ASSERT_TRUE(region.valid());
    ::madvise(region.bytes(), region.length(), MADV_NOHUGEPAGE);
    for (std::size_t i = 0; i < region.length(); i += sizeof(std::uint64_t))
        region.bytes()[i] = patternByte(i);
    auto base = reinterpret_cast<std::uint64_t>(region.bytes());
    std::vector<void*> pages(kPages);
    for (std::size_t page = 0; page < kPages; ++page)
        pages[page] = region.bytes() + page * pageSize();
    auto count = [&](int node) {
        auto nodes = etmem::vm::pageNodes(::getpid(), base, kPages);
        return static_cast<std::size_t>(std::count(nodes.begin(), nodes.end(), node));
    };
    for (int target : {1, 0}) {
        std::vector<int> nodes(kPages, target);
        std::vector<int> status(kPages, -1);
        ASSERT_EQ(etmem::vm::movePages(0, kPages, pages.data(), nodes.data(), status.data(),
                                       etmem::vm::kMoveOwnPages),
                  0)
            << "move_pages to node " << target << ": " << std::strerror(errno);
        EXPECT_GE(count(target) * 100, kPages * 99)
            << count(target) << " of " << kPages << " pages on node " << target;
    }
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < region.length(); i += sizeof(std::uint64_t))
        wrong += region.bytes()[i] != patternByte(i);
    EXPECT_EQ(wrong, 0U) << "bytes changed by the moves";
}

}  // namespace
