// SPDX-License-Identifier: MulanPSL-2.0
// The idle_page scanner's rounds on a real child (its smaps, pagemap, clear_refs and
// soft-dirty bits are the kernel's), with a temp file standing in for
// /sys/kernel/mm/page_idle/bitmap: a bit the test clears stands for a page the kernel found
// accessed. pagemap shows PFNs to CAP_SYS_ADMIN only, so this needs root (tests run as root
// here and in CI). The real bitmap is exercised in the VM tests.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/unique_fd.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kPagesA = 96;
constexpr std::size_t kPagesB = 32;

// A child with two private anonymous mappings, A and B, every page written; it then writes
// one byte at each address the test sends and answers when done.
class Child {
  public:
    Child() {
        a_ = map(kPagesA);
        b_ = map(kPagesB);
        int commands[2], acks[2];
        if (::pipe(commands) != 0 || ::pipe(acks) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(commands[1]);
            ::close(acks[0]);
            std::memset(reinterpret_cast<void*>(a_), 1, kPagesA * kPageSize);
            std::memset(reinterpret_cast<void*>(b_), 1, kPagesB * kPageSize);
            std::uint64_t address = 0;
            for (char ack = 'k'; ::write(acks[1], &ack, 1) == 1;) {
                if (::read(commands[0], &address, sizeof address) != sizeof address) ::_exit(0);
                *reinterpret_cast<volatile char*>(address) = 2;
            }
            ::_exit(0);
        }
        ::close(commands[0]);
        ::close(acks[1]);
        commands_.reset(commands[1]);
        acks_.reset(acks[0]);
        waitForAck();
        ::munmap(reinterpret_cast<void*>(a_), kPagesA * kPageSize);
        ::munmap(reinterpret_cast<void*>(b_), kPagesB * kPageSize);
    }
    ~Child() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    void write(std::uint64_t address) {
        ASSERT_EQ(::write(commands_.get(), &address, sizeof address),
                  static_cast<ssize_t>(sizeof address));
        waitForAck();
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    std::string smaps() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/smaps");
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    PagemapEntry entry(std::uint64_t address) const {
        UniqueFd pagemap(
            ::open(("/proc/" + std::to_string(pid_) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC));
        PagemapEntry entry;
        EXPECT_EQ(
            ::pread(pagemap.get(), &entry.raw, 8, static_cast<off_t>(address / kPageSize * 8)), 8);
        return entry;
    }
    std::uint64_t a(std::size_t page) const { return a_ + page * kPageSize; }
    std::uint64_t b(std::size_t page) const { return b_ + page * kPageSize; }

  private:
    static std::uint64_t map(std::size_t pages) {
        void* memory = ::mmap(nullptr, pages * kPageSize, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) std::abort();
        ::madvise(memory, pages * kPageSize, MADV_NOHUGEPAGE);  // one PFN per page
        return reinterpret_cast<std::uint64_t>(memory);
    }
    void waitForAck() {
        char ack = 0;
        ASSERT_EQ(::read(acks_.get(), &ack, 1), 1);
    }

    pid_t pid_ = 0;
    std::uint64_t a_ = 0, b_ = 0;
    UniqueFd commands_, acks_;
};

// <dir>/kernel/mm/page_idle/bitmap as a plain file; removed with the directory. Unlike the
// kernel's, a plain file also stores the zero words of a written window, so it stands in for
// one batch of one target only (the test's child has far fewer pages than a batch).
class FakeSys {
  public:
    FakeSys() {
        char path[] = "/tmp/slide-sys-XXXXXX";
        root_ = ::mkdtemp(path);
        fs::create_directories(root_ / "kernel/mm/page_idle");
        std::ofstream(root_ / "kernel/mm/page_idle/bitmap").flush();
        bitmap_.reset(::open((root_ / "kernel/mm/page_idle/bitmap").c_str(), O_RDWR | O_CLOEXEC));
    }
    ~FakeSys() { fs::remove_all(root_); }
    const fs::path& root() const { return root_; }
    bool idle(std::uint64_t pfn) const {
        std::uint64_t word = 0;
        if (::pread(bitmap_.get(), &word, 8, static_cast<off_t>(pfn / 64 * 8)) != 8) return false;
        return (word >> (pfn % 64)) & 1;
    }
    // What the kernel does when it finds the page accessed: its idle bit goes.
    void access(std::uint64_t pfn) {
        std::uint64_t word = 0;
        ASSERT_EQ(::pread(bitmap_.get(), &word, 8, static_cast<off_t>(pfn / 64 * 8)), 8);
        word &= ~(std::uint64_t{1} << (pfn % 64));
        ASSERT_EQ(::pwrite(bitmap_.get(), &word, 8, static_cast<off_t>(pfn / 64 * 8)), 8);
    }

  private:
    fs::path root_;
    UniqueFd bitmap_;
};

class RecordingSink final : public AccessSink {
  public:
    void record(std::uint64_t address, std::uint64_t pages, PageAccess access) override {
        for (std::uint64_t i = 0; i < pages; ++i) {
            auto [it, added] = pages_.emplace(address + i * kPageSize, access);
            EXPECT_TRUE(added) << "page reported twice in a round";
        }
    }
    // The reported pages within [start, start + pages * kPageSize).
    std::map<std::uint64_t, PageAccess> within(std::uint64_t start, std::size_t pages) const {
        return {pages_.lower_bound(start), pages_.lower_bound(start + pages * kPageSize)};
    }

  private:
    std::map<std::uint64_t, PageAccess> pages_;
};

// Whether this kernel keeps soft-dirty bits (CONFIG_MEM_SOFT_DIRTY): a page of ours written
// after clear_refs reads as soft-dirty.
bool softDirtyWorks() {
    void* memory =
        ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    auto* page = static_cast<volatile char*>(memory);
    page[0] = 1;
    UniqueFd clearRefs(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
    clearSoftDirty(clearRefs.get());
    page[0] = 2;
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    PagemapEntry entry;
    auto offset = static_cast<off_t>(reinterpret_cast<std::uint64_t>(memory) / kPageSize * 8);
    bool works = ::pread(pagemap.get(), &entry.raw, 8, offset) == 8 && entry.softDirty();
    ::munmap(memory, kPageSize);
    return works;
}

// The idle_page scanner with `sys` standing in for /sys.
std::unique_ptr<AccessScanner> scannerOn(const FakeSys& sys) {
    KernelPaths paths;
    paths.sys = sys.root();
    return makeIdlePageScanner(paths, pagemapScanAvailable());
}

class SlideIdlePageScanner : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "pagemap shows PFNs to root only";
    }
};

}  // namespace

TEST_F(SlideIdlePageScanner, ReportsWrittenAndReadPagesOfEveryMappingAndMarksThemIdleAgain) {
    Child child;
    FakeSys sys;
    auto scanner = scannerOn(sys);
    auto target = child.target();
    auto vmas = parseCandidateVmas(child.smaps());
    auto session = scanner->watch(target, vmas, std::stop_token{});
    // The baseline marked every page of both mappings idle.
    for (std::size_t i = 0; i < kPagesA; ++i)
        ASSERT_TRUE(sys.idle(child.entry(child.a(i)).pfn())) << "A page " << i;
    for (std::size_t i = 0; i < kPagesB; ++i)
        ASSERT_TRUE(sys.idle(child.entry(child.b(i)).pfn())) << "B page " << i;

    child.write(child.a(3));
    child.write(child.a(12));
    child.write(child.b(5));
    for (auto address : {child.a(10), child.a(11), child.a(12), child.b(0)})
        sys.access(child.entry(address).pfn());
    RecordingSink first;
    session->round(std::stop_token{}, first);
    using enum PageAccess;
    using Pages = std::map<std::uint64_t, PageAccess>;
    // Soft-dirty wins over the idle bit: page 12 of A was written, and read too. Without
    // soft-dirty (CONFIG_MEM_SOFT_DIRTY off) writes are seen only through the idle bit.
    if (softDirtyWorks()) {
        EXPECT_EQ(first.within(child.a(0), kPagesA), (Pages{{child.a(3), Written},
                                                            {child.a(10), Read},
                                                            {child.a(11), Read},
                                                            {child.a(12), Written}}));
        EXPECT_EQ(first.within(child.b(0), kPagesB),
                  (Pages{{child.b(0), Read}, {child.b(5), Written}}));
    } else {
        EXPECT_EQ(first.within(child.a(0), kPagesA),
                  (Pages{{child.a(10), Read}, {child.a(11), Read}, {child.a(12), Read}}));
        EXPECT_EQ(first.within(child.b(0), kPagesB), (Pages{{child.b(0), Read}}));
    }
    // The round marked them idle again and cleared soft-dirty: the next round sees nothing.
    for (auto address : {child.a(10), child.a(11), child.a(12), child.b(0)})
        EXPECT_TRUE(sys.idle(child.entry(address).pfn()));
    EXPECT_FALSE(child.entry(child.a(3)).softDirty());
    RecordingSink second;
    session->round(std::stop_token{}, second);
    EXPECT_TRUE(second.within(child.a(0), kPagesA).empty());
    EXPECT_TRUE(second.within(child.b(0), kPagesB).empty());
}

TEST_F(SlideIdlePageScanner, AStoppedRoundReportsNothing) {
    Child child;
    FakeSys sys;
    auto scanner = scannerOn(sys);
    auto target = child.target();
    auto session = scanner->watch(target, parseCandidateVmas(child.smaps()), std::stop_token{});
    sys.access(child.entry(child.a(0)).pfn());
    std::stop_source stop;
    stop.request_stop();
    RecordingSink sink;
    session->round(stop.get_token(), sink);
    EXPECT_TRUE(sink.within(child.a(0), kPagesA).empty());
}
