// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine with memory tiers, on a real child process (its smaps and pagemap are
// real) with a scripted scanner, a fake sysfs of two nodes and a fake move_pages that keeps
// each page's node: cold pages are demoted, hot ones promoted within the reserve, the chain
// swaps pages cold long enough on the slow node, and the figures count what the kernel
// (here the fake) confirms.
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "etmem/slide/slide_engine.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

namespace fs = std::filesystem;
constexpr std::size_t kPages = 64;

// A child with kPages written private anonymous pages at a known address.
class Child {
  public:
    Child() {
        void* memory = ::mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        base_ = reinterpret_cast<std::uint64_t>(memory);
        int ready[2];
        if (::pipe(ready) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            std::memset(memory, 0x5a, kPages * kPageSize);
            char byte = 'r';
            if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char byte = 0;
        if (::read(ready[0], &byte, 1) != 1) std::abort();
        ::close(ready[0]);
        ::munmap(memory, kPages * kPageSize);
    }
    ~Child() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.comm = "tier-test";
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    std::uint64_t page(std::size_t index) const { return base_ + index * kPageSize; }

  private:
    pid_t pid_ = 0;
    std::uint64_t base_ = 0;
};

// Pages i % 4 == 0 are written in every round (hot with T 3), the rest idle.
class ScriptedScanner final : public AccessScanner {
  public:
    explicit ScriptedScanner(std::uint64_t base) : base_(base) {}
    std::string_view name() const override { return "scripted"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(base_);
    }

  private:
    class Session final : public ScanSession {
      public:
        explicit Session(std::uint64_t base) : base_(base) {}
        void round(std::stop_token, AccessSink& sink) override {
            for (std::size_t i = 0; i < kPages; i += 4)
                sink.record(base_ + i * kPageSize, 1, PageAccess::Written);
        }

      private:
        std::uint64_t base_;
    };
    std::uint64_t base_;
};

class RecordingSwapper final : public Swapper {
  public:
    std::string_view name() const override { return "recording"; }
    std::uint64_t swapOut(const Target&, std::span<const PageRange> ranges,
                          std::stop_token) override {
        std::lock_guard lock(mutex);
        for (const auto& range : ranges)
            for (auto a = range.start; a < range.end; a += kPageSize) pages.insert(a);
        return 0;
    }
    std::mutex mutex;
    std::set<std::uint64_t> pages;
};

// move_pages over a map of address -> node; a page it does not know is on node 0.
class FakePageNodes final : public movers::PageNodes {
  public:
    long movePages(pid_t, std::span<void*> pages, const int* nodes, std::span<int> status,
                   int) override {
        std::lock_guard lock(mutex);
        for (std::size_t i = 0; i < pages.size(); ++i) {
            int& node = where[reinterpret_cast<std::uint64_t>(pages[i])];
            if (nodes != nullptr) {
                node = nodes[i];
                ++moves;
                moved.insert(reinterpret_cast<std::uint64_t>(pages[i]));
            }
            status[i] = node;
        }
        return 0;
    }
    std::mutex mutex;
    std::map<std::uint64_t, int> where;
    std::uint64_t moves = 0;
    std::set<std::uint64_t> moved;
};

class NullLogger final : public Logger {
  public:
    void log(LogLevel, const LogContext&, std::string_view) override {}
};

// Node 0: DRAM with the CPUs, 1 GiB of which freeKib free; node 1: CPU-less, a lower tier.
class TwoNodes {
  public:
    explicit TwoNodes(std::uint64_t freeKib = 524288) {
        char path[] = "/tmp/etmem-tiering-XXXXXX";
        root_ = ::mkdtemp(path);
        write("devices/system/node/online", "0-1");
        write("devices/system/node/has_memory", "0-1");
        write("devices/system/node/has_cpu", "0");
        write("devices/system/node/node0/meminfo",
              "Node 0 MemTotal: 1048576 kB\nNode 0 MemFree: " + std::to_string(freeKib) + " kB\n");
        write("devices/system/node/node1/meminfo",
              "Node 1 MemTotal: 4194304 kB\nNode 1 MemFree: 4000000 kB\n");
        write("devices/system/node/node0/distance", "10 20");
        write("devices/system/node/node1/distance", "20 10");
        write("devices/virtual/memory_tiering/memory_tier4/nodelist", "0");
        write("devices/virtual/memory_tiering/memory_tier22/nodelist", "1");
    }
    ~TwoNodes() { fs::remove_all(root_); }
    fs::path root() const { return root_; }

  private:
    void write(const fs::path& relative, const std::string& text) {
        fs::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative) << text << "\n";
    }
    fs::path root_;
};

struct Fixture {
    ProjectConfig project;
    TaskConfig task;
    NullLogger logger;
    Child child;
    TwoNodes sys;
    std::shared_ptr<ScriptedScanner> scanner = std::make_shared<ScriptedScanner>(child.page(0));
    std::shared_ptr<RecordingSwapper> swapper = std::make_shared<RecordingSwapper>();
    std::shared_ptr<FakePageNodes> nodes = std::make_shared<FakePageNodes>();
    std::vector<Target> targets;

    explicit Fixture(std::uint64_t freeKib = 524288) : sys(freeKib) {
        project.loop = 3;
        task.slide.T = 3;
        task.slide.coldNode = 1;
        targets.push_back(child.target());
    }
    std::unique_ptr<TaskEngine> engine() {
        SlideOptions options;
        options.scannerOverride = scanner;
        options.swapperOverride = swapper;
        options.swapActiveOverride = true;
        options.paths.sys = sys.root();
        options.pageNodesOverride = nodes;
        return makeSlideEngine(EngineContext{project, task, LogContext{"p", "pid:x", 0}, logger},
                               std::move(options));
    }
    CycleReport cycle(TaskEngine& engine) {
        engine.beginCycle(targets, std::stop_token{});
        for (unsigned i = 0; i < project.loop; ++i) engine.scan(std::stop_token{});
        return engine.act(std::stop_token{});
    }
    int nodeOf(std::size_t page) { return nodes->where[child.page(page)]; }
};

}  // namespace

TEST(SlideTiering, ColdPagesGoToTheSlowNodeAndHotOnesStay) {
    Fixture fixture;
    auto engine = fixture.engine();
    const CycleReport report = fixture.cycle(*engine);
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.pagesHot, kPages / 4);
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.nodeOf(i), i % 4 == 0 ? 0 : 1) << "page " << i;
    // The child's other private pages (its stack, its heap, pages its parent's threads
    // unshare by writing to them meanwhile) are cold too.
    const FigureList figures = report.figures();
    const std::uint64_t demoted = figures.count("pages_demoted");
    EXPECT_GE(demoted, kPages * 3 / 4);
    EXPECT_EQ(figures.count("pages_promoted"), 0u);
    EXPECT_GE(figures.count("pages_node0"), kPages / 4);
    EXPECT_EQ(figures.count("pages_node1"), demoted);
    EXPECT_NE(figures.find("migrate_bytes_per_second"), nullptr);
    EXPECT_TRUE(fixture.swapper->pages.empty()) << "no chain: nothing goes to swap";
    // At steady state the child's pages stay where they are: no ping-pong.
    fixture.nodes->moved.clear();
    fixture.cycle(*engine);
    for (std::size_t i = 0; i < kPages; ++i) {
        EXPECT_EQ(fixture.nodeOf(i), i % 4 == 0 ? 0 : 1) << "page " << i;
        EXPECT_FALSE(fixture.nodes->moved.contains(fixture.child.page(i))) << "page " << i;
    }
}

TEST(SlideTiering, HotPagesOnTheSlowNodeComeBack) {
    Fixture fixture;
    for (std::size_t i = 0; i < kPages; ++i) fixture.nodes->where[fixture.child.page(i)] = 1;
    auto engine = fixture.engine();
    const FigureList figures = fixture.cycle(*engine).figures();
    EXPECT_EQ(figures.count("pages_promoted"), kPages / 4);
    for (std::size_t i = 0; i < kPages; i += 4) EXPECT_EQ(fixture.nodeOf(i), 0) << "page " << i;
}

TEST(SlideTiering, PromotionKeepsTheReserveFree) {
    Fixture fixture(/*freeKib=*/102400);        // 100 MiB free of 1 GiB
    fixture.task.slide.hotReservePercent = 10;  // 102.4 MiB: no room
    for (std::size_t i = 0; i < kPages; ++i) fixture.nodes->where[fixture.child.page(i)] = 1;
    auto engine = fixture.engine();
    const FigureList figures = fixture.cycle(*engine).figures();
    EXPECT_EQ(figures.count("pages_promoted"), 0u);
    EXPECT_EQ(fixture.nodeOf(0), 1);
}

TEST(SlideTiering, TheChainSwapsPagesColdLongEnoughOnTheSlowNode) {
    Fixture fixture;
    fixture.task.slide.thenSwapAfter = 1;
    auto engine = fixture.engine();
    fixture.cycle(*engine);
    EXPECT_TRUE(fixture.swapper->pages.empty()) << "first they go to the slow node";
    fixture.cycle(*engine);
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.swapper->pages.contains(fixture.child.page(i)), i % 4 != 0)
            << "page " << i;
}

TEST(SlideTiering, ANodeThatIsNotSlowerIsReportedAndNothingMoves) {
    Fixture fixture;
    fixture.task.slide.coldNode = 0;
    auto engine = fixture.engine();
    const CycleReport report = fixture.cycle(*engine);
    EXPECT_NE(report.error.find("cold_destination: node 0 is not slower"), std::string::npos)
        << report.error;
    EXPECT_EQ(fixture.nodes->moves, 0u);
}

TEST(SlideTiering, MigrationIsPacedByMaxMigrateRate) {
    Fixture fixture;
    fixture.project.interval = 1;
    fixture.task.slide.maxMigrateRate = 16 * kPageSize;  // 16 pages a second, 1 s window
    auto engine = fixture.engine();
    const FigureList figures = fixture.cycle(*engine).figures();
    // The bucket starts empty and fills at the rate for the one-second window: about 16
    // pages (and a tenth of a second's depth), far fewer than the 48 cold ones.
    EXPECT_GE(figures.count("pages_demoted"), 8u);
    EXPECT_LE(figures.count("pages_demoted"), 20u);
}
