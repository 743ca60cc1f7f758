// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's counting, classification and reporting, on real child processes (their
// smaps and pagemap are real) with a scripted scanner and a recording swapper. Nothing here
// swaps: the host has no swap to use, and none is turned on.
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "etmem/slide/slide_engine.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

constexpr std::size_t kPages = 64;

// A child that owns kPages written private anonymous pages at a known address and waits.
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
            // Written after the fork: the child's own copies, mapped once.
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
    ~Child() { kill(); }
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = 0;
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.comm = "slide-test";
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    std::uint64_t page(std::size_t index) const { return base_ + index * kPageSize; }

  private:
    pid_t pid_ = 0;
    std::uint64_t base_ = 0;
};

// Reports page i of every child as written when i % 4 == 0, read when i % 4 == 1, idle
// otherwise, in every round.
class ScriptedScanner final : public AccessScanner {
  public:
    explicit ScriptedScanner(std::vector<std::uint64_t> bases) : bases_(std::move(bases)) {}
    std::string_view name() const override { return "scripted"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(bases_, resting);
    }
    std::atomic<int> watched{0};
    // While set, every page is reported idle (a cycle in which the hot pages rest).
    std::shared_ptr<std::atomic<bool>> resting = std::make_shared<std::atomic<bool>>(false);

  private:
    class Session final : public ScanSession {
      public:
        Session(std::vector<std::uint64_t> bases, std::shared_ptr<std::atomic<bool>> resting)
            : bases_(std::move(bases)), resting_(std::move(resting)) {}
        void round(std::stop_token, AccessSink& sink) override {
            if (*resting_) return;
            for (auto base : bases_) {
                for (std::size_t i = 0; i < kPages; i += 4) {
                    sink.record(base + i * kPageSize, 1, PageAccess::Written);
                    sink.record(base + (i + 1) * kPageSize, 1, PageAccess::Read);
                }
            }
        }

      private:
        std::vector<std::uint64_t> bases_;
        std::shared_ptr<std::atomic<bool>> resting_;
    };
    std::vector<std::uint64_t> bases_;
};

class RecordingSwapper final : public Swapper {
  public:
    std::string_view name() const override { return "recording"; }
    std::uint64_t swapOut(const Target&, std::span<const PageRange> ranges,
                          std::stop_token) override {
        std::lock_guard lock(mutex);
        std::uint64_t bytes = 0;
        for (const auto& range : ranges) {
            for (auto a = range.start; a < range.end; a += kPageSize) pages.insert(a);
            bytes += range.end - range.start;
        }
        ++calls;
        return bytes;
    }
    std::mutex mutex;
    std::set<std::uint64_t> pages;
    int calls = 0;
};

class RecordingLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext& context, std::string_view message) override {
        std::lock_guard lock(mutex_);
        entries.push_back({level, context.pid, std::string(message)});
    }
    struct Entry {
        LogLevel level;
        pid_t pid;
        std::string message;
    };
    std::vector<Entry> entries;

  private:
    std::mutex mutex_;
};

struct Fixture {
    ProjectConfig project;
    TaskConfig task;
    RecordingLogger logger;
    std::shared_ptr<ScriptedScanner> scanner;
    std::shared_ptr<RecordingSwapper> swapper = std::make_shared<RecordingSwapper>();

    Fixture(unsigned loop, unsigned threshold, std::vector<std::uint64_t> bases,
            unsigned threads = 1)
        : scanner(std::make_shared<ScriptedScanner>(std::move(bases))) {
        project.loop = loop;
        task.slide.T = threshold;
        task.maxThreads = threads;
    }
    std::unique_ptr<TaskEngine> engine(bool swapActive = true) {
        SlideOptions options;
        options.scannerOverride = scanner;
        options.swapperOverride = swapper;
        options.swapActiveOverride = swapActive;
        return makeSlideEngine(EngineContext{project, task, LogContext{"p", "pid:x", 0}, logger},
                               std::move(options));
    }
    CycleReport cycle(TaskEngine& engine, std::span<const Target> targets) {
        engine.beginCycle(targets, std::stop_token{});
        for (unsigned i = 0; i < project.loop; ++i) engine.scan(std::stop_token{});
        return engine.act(std::stop_token{});
    }
};

}  // namespace

TEST(SlideWeights, WrittenWeighsThreeReadOneIdleNothingAndCountsSaturate) {
    EXPECT_EQ(weightOf(PageAccess::Written), 3);
    EXPECT_EQ(weightOf(PageAccess::Read), 1);
    EXPECT_EQ(weightOf(PageAccess::Idle), 0);
    std::uint8_t count = 250;
    addWeight(count, 3);
    EXPECT_EQ(count, 253);
    addWeight(count, 3);
    EXPECT_EQ(count, kMaxCount);
}

TEST(SlideClassification, HotIsAtLeastTAndTheHistogramSpansZeroToThreeLoop) {
    Classification classes;
    const unsigned loop = 3, threshold = 4;
    for (std::uint8_t count : {0, 0, 1, 3, 4, 9, 9, 200})
        classifyInto(classes, count, loop, threshold);
    EXPECT_EQ(classes.hot, 4u);   // 4, 9, 9, 200
    EXPECT_EQ(classes.cold, 4u);  // 0, 0, 1, 3
    ASSERT_EQ(classes.histogram.size(), 10u);
    EXPECT_EQ(classes.histogram[0], 2u);
    EXPECT_EQ(classes.histogram[3], 1u);
    EXPECT_EQ(classes.histogram[9], 3u);  // the top bucket holds what exceeds it
    EXPECT_TRUE(isHot(kMaxCount, 300));   // T above the saturation point means "saturated"
}

TEST(SlideEngine, CountsWeightedAccessesAndSwapsOnlyColdPages) {
    Child child;
    Fixture fixture(3, 3, {child.page(0)});
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto report = fixture.cycle(*engine, targets);

    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.scanner, "scripted");
    EXPECT_EQ(report.swapper, "recording");
    ASSERT_EQ(report.histogram.size(), 10u);
    EXPECT_EQ(report.histogram[9], kPages / 4);  // written in 3 rounds
    EXPECT_EQ(report.histogram[3], kPages / 4);  // read in 3 rounds
    EXPECT_EQ(report.pagesHot, kPages / 2);
    EXPECT_EQ(report.pagesScanned, report.pagesHot + report.pagesCold);
    EXPECT_GE(report.pagesCold, kPages / 2);
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.swapper->pages.contains(child.page(i)), i % 4 >= 2) << "page " << i;
    // The recording swapper swaps nothing, and the engine only counts what pagemap confirms.
    EXPECT_EQ(report.pagesSwapped, 0u);
    EXPECT_EQ(report.bytesSwapped, 0u);
}

// cold_cycles 2: a page goes only in the second consecutive cycle it is cold. Cycle 1: the
// idle pages wait; cycle 2 (the hot pages rest): the idle pages go, the resting ones wait;
// cycle 3 (they rest again): they go too.
TEST(SlideEngine, ColdCyclesKeepsAPageUntilItWasColdInThatManyCyclesInARow) {
    Child child;
    Fixture fixture(3, 3, {child.page(0)});
    fixture.task.slide.coldCycles = 2;
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto first = fixture.cycle(*engine, targets);
    EXPECT_GE(first.pagesCold, kPages / 2);
    EXPECT_TRUE(fixture.swapper->pages.empty()) << "cold once is not enough";

    *fixture.scanner->resting = true;
    auto second = fixture.cycle(*engine, targets);
    EXPECT_GE(second.pagesCold, kPages);  // the recording swapper swaps nothing
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.swapper->pages.contains(child.page(i)), i % 4 >= 2) << "page " << i;

    fixture.swapper->pages.clear();
    fixture.cycle(*engine, targets);
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_TRUE(fixture.swapper->pages.contains(child.page(i))) << "page " << i;
}

// max_swap_rate: the paced path hands the cold pages to the mover in paced batches, the
// coldest first; with a rate far above what the target holds, all of them go in one cycle.
TEST(SlideEngine, APacedCycleHandsEveryColdPageToTheMoverWithinTheRate) {
    Child child;
    Fixture fixture(3, 3, {child.page(0)});
    fixture.task.slide.maxSwapRate = std::uint64_t{1} << 30;
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto report = fixture.cycle(*engine, targets);
    EXPECT_EQ(report.error, "");
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.swapper->pages.contains(child.page(i)), i % 4 >= 2) << "page " << i;
    EXPECT_EQ(report.pagesSwapped, 0u);  // the recording swapper swaps nothing
    EXPECT_FALSE(report.pacing.paced);
    EXPECT_EQ(report.pacing.rate, std::uint64_t{1} << 30);
}

TEST(SlideEngine, AHigherThresholdMakesReadOnlyPagesCold) {
    Child child;
    Fixture fixture(3, 4, {child.page(0)});
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto report = fixture.cycle(*engine, targets);
    EXPECT_EQ(report.pagesHot, kPages / 4);
    for (std::size_t i = 0; i < kPages; ++i)
        EXPECT_EQ(fixture.swapper->pages.contains(child.page(i)), i % 4 != 0) << "page " << i;
}

TEST(SlideEngine, WorkersShareTheTargetsAndEveryTargetIsClassified) {
    Child a, b, c;
    Fixture fixture(2, 2, {a.page(0), b.page(0), c.page(0)}, 3);
    auto engine = fixture.engine();
    std::vector<Target> targets;
    for (auto* child : {&a, &b, &c}) targets.push_back(child->target());
    auto report = fixture.cycle(*engine, targets);
    // Each child's own mapping lies at the same address in each: half of 64 pages hot each.
    EXPECT_EQ(report.pagesHot, 3 * kPages / 2);
    EXPECT_EQ(fixture.swapper->calls, 3);
    EXPECT_EQ(report.error, "");
}

TEST(SlideEngine, ATargetThatExitsMidCycleIsDroppedWithAnInfoLog) {
    Child stays, leaves;
    Fixture fixture(2, 2, {stays.page(0)});
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(stays.target());
    targets.push_back(leaves.target());
    pid_t leavingPid = targets[1].pid;
    engine->beginCycle(targets, std::stop_token{});
    engine->scan(std::stop_token{});
    leaves.kill();
    engine->scan(std::stop_token{});
    auto report = engine->act(std::stop_token{});
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.pagesHot, kPages / 2);  // the one that stayed
    bool logged = false;
    for (const auto& entry : fixture.logger.entries)
        logged |= entry.level == LogLevel::Info && entry.pid == leavingPid &&
                  entry.message.find("exited") != std::string::npos;
    EXPECT_TRUE(logged);
}

TEST(SlideEngine, NoSwapDeviceIsReportedAndNothingIsSwapped) {
    Child child;
    Fixture fixture(1, 1, {child.page(0)});
    auto engine = fixture.engine(/*swapActive=*/false);
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto report = fixture.cycle(*engine, targets);
    EXPECT_NE(report.error.find("no swap device is active"), std::string::npos) << report.error;
    EXPECT_EQ(fixture.swapper->calls, 0);
    EXPECT_EQ(report.pagesSwapped, 0u);
    EXPECT_GT(report.pagesCold, 0u);  // classification still ran
}

// mode observe: every page act hands to the mover (every cold page, with cold_cycles 1) is
// counted as would_swap, and the mover is never called; with no swap device the dry run
// still reports, without an error.
TEST(SlideEngine, ObserveCountsWhatActWouldMoveAndMovesNothing) {
    Child child;
    std::vector<Target> targets;
    targets.push_back(child.target());
    Fixture acting(3, 3, {child.page(0)});
    auto actEngine = acting.engine();
    const auto acted = acting.cycle(*actEngine, targets);
    EXPECT_EQ(acting.swapper->pages.size(), acted.pagesCold);

    for (bool swapActive : {true, false}) {
        Fixture observing(3, 3, {child.page(0)});
        observing.task.slide.mode = RunMode::Observe;
        auto engine = observing.engine(swapActive);
        auto report = observing.cycle(*engine, targets);
        EXPECT_EQ(report.error, "");
        EXPECT_EQ(observing.swapper->calls, 0);
        EXPECT_EQ(report.pagesSwapped, 0u);
        EXPECT_GE(report.pagesCold, kPages / 2);
        EXPECT_EQ(report.extra.count(figure::kWouldSwapPages), report.pagesCold);
        EXPECT_EQ(report.extra.count(figure::kWouldSwapBytes), report.pagesCold * kPageSize);
        ASSERT_NE(report.extra.find(figure::kWouldSwapPages), nullptr);
        EXPECT_TRUE(report.extra.find(figure::kWouldSwapPages)->accumulates);
    }
}

// cold_cycles and the dry run: a page counts only once act would move it.
TEST(SlideEngine, ObserveHonoursColdCycles) {
    Child child;
    std::vector<Target> targets;
    targets.push_back(child.target());
    Fixture fixture(3, 3, {child.page(0)});
    fixture.task.slide.mode = RunMode::Observe;
    fixture.task.slide.coldCycles = 2;
    auto engine = fixture.engine();
    auto first = fixture.cycle(*engine, targets);
    EXPECT_EQ(first.extra.count(figure::kWouldSwapPages), 0u);
    auto second = fixture.cycle(*engine, targets);
    EXPECT_GE(second.extra.count(figure::kWouldSwapPages), kPages / 2);
    EXPECT_LE(second.extra.count(figure::kWouldSwapPages), second.pagesCold);
    EXPECT_EQ(fixture.swapper->calls, 0);
}

// A project in mode observe runs its tasks dry unless a task says act; an acting task
// reports no would_swap figures.
TEST(SlideEngine, AProjectsObserveModeAppliesUnlessTheTaskActs) {
    Child child;
    std::vector<Target> targets;
    targets.push_back(child.target());
    Fixture project(3, 3, {child.page(0)});
    project.project.mode = RunMode::Observe;
    auto dry = project.engine();
    auto report = project.cycle(*dry, targets);
    EXPECT_EQ(project.swapper->calls, 0);
    EXPECT_GE(report.extra.count(figure::kWouldSwapPages), kPages / 2);

    Fixture task(3, 3, {child.page(0)});
    task.project.mode = RunMode::Observe;
    task.task.slide.mode = RunMode::Act;
    auto acting = task.engine();
    report = task.cycle(*acting, targets);
    EXPECT_EQ(task.swapper->calls, 1);
    EXPECT_EQ(report.extra.find(figure::kWouldSwapPages), nullptr);
}

// The idle-age report: bytes cold for >= 1, 2, 4 ... cycles. Cycle 1 makes every cold page
// 1 cycle old; while the hot pages rest, they join at age 1 and the others grow older
// (nothing leaves: the recording swapper swaps nothing).
TEST(SlideEngine, IdleAgesFollowHowLongEachPageHasBeenCold) {
    Child child;
    Fixture fixture(3, 3, {child.page(0)});
    fixture.task.slide.mode = RunMode::Observe;
    auto engine = fixture.engine();
    std::vector<Target> targets;
    targets.push_back(child.target());
    auto idle = [](const CycleReport& report, unsigned age) {
        return report.extra.count(figure::idleBytesName(age));
    };
    auto first = fixture.cycle(*engine, targets);
    EXPECT_EQ(idle(first, 1), first.pagesCold * kPageSize);
    EXPECT_EQ(idle(first, 2), 0u);

    *fixture.scanner->resting = true;
    std::vector<CycleReport> reports;
    for (int cycle = 2; cycle <= 5; ++cycle) reports.push_back(fixture.cycle(*engine, targets));
    // The child's other pages turn candidates while the test runs (copy-on-write after
    // the fork), at age 1: the mapping's pages are the ones whose ages are known.
    const std::uint64_t half = kPages / 2 * kPageSize;
    const CycleReport& fifth = reports.back();
    EXPECT_EQ(idle(fifth, 1), fifth.pagesCold * kPageSize);
    EXPECT_GE(idle(fifth, 4), 2 * half);  // cold since cycle 1 or 2: 5 or 4 cycles
    EXPECT_LE(idle(fifth, 4), idle(fifth, 2));
    EXPECT_EQ(idle(fifth, 8), 0u);
    // In cycle 4 the resting half is 3 cycles cold (>= 2, not >= 4), the other half 4.
    const CycleReport& fourth = reports[2];
    EXPECT_GE(idle(fourth, 4), half);
    EXPECT_LE(idle(fourth, 4) + half, idle(fourth, 2));
    for (unsigned age = 1; age <= 128; age *= 2)
        EXPECT_NE(fifth.extra.find(figure::idleBytesName(age)), nullptr) << age;
    EXPECT_EQ(fifth.extra.count(figure::kRefaults), 0u);
}

TEST(SlideEngine, AMissingScannerIsReportedWithWhatToDo) {
    if (probeBackends().has("idle_pages")) GTEST_SKIP() << "this kernel has etmem_scan";
    ProjectConfig project;
    TaskConfig task;
    RecordingLogger logger;
    SlideOptions options;
    options.scanner = parseScannerChoice("idle_pages");
    auto engine = makeSlideEngine(EngineContext{project, task, LogContext{}, logger}, options);
    Child child;
    std::vector<Target> targets;
    targets.push_back(child.target());
    engine->beginCycle(targets, std::stop_token{});
    engine->scan(std::stop_token{});
    auto report = engine->act(std::stop_token{});
    EXPECT_NE(report.error.find("etmem_scan"), std::string::npos) << report.error;
    EXPECT_EQ(report.scanner, "");
    EXPECT_EQ(report.pagesScanned, 0u);
}

TEST(SlideMadviseSwapper, SkipsRangesThatAreGoneAndCountsTheRest) {
    Child child;
    auto target = child.target();
    std::vector<PageRange> ranges{{child.page(0), child.page(8)},
                                  {0x1000, 0x3000},  // never mapped
                                  {child.page(16), child.page(20)}};
    auto swapper = makeMadviseSwapper();
    try {
        // MADV_PAGEOUT without swap leaves anonymous pages where they are.
        EXPECT_EQ(swapper->swapOut(target, ranges, std::stop_token{}), 12 * kPageSize);
    } catch (const BackendUnavailable& e) {
        GTEST_SKIP() << e.what();
    }
}

TEST(SlideMadviseSwapper, AnExitedTargetIsGone) {
    Child child;
    auto target = child.target();
    child.kill();
    std::vector<PageRange> ranges{{0x10000, 0x11000}};
    EXPECT_THROW(makeMadviseSwapper()->swapOut(target, ranges, std::stop_token{}), TargetGone);
}

TEST(SlideBackendKinds, ParseAndPrintRoundTrip) {
    for (auto kind : {ScannerChoice::automatic(), parseScannerChoice("idle_page"),
                      parseScannerChoice("damon"), parseScannerChoice("idle_pages")})
        EXPECT_EQ(parseScannerChoice(toString(kind)), kind);
    for (auto kind : {SwapperChoice::automatic(), parseSwapperChoice("madvise"),
                      parseSwapperChoice("swap_pages")})
        EXPECT_EQ(parseSwapperChoice(toString(kind)), kind);
    EXPECT_THROW(parseScannerChoice("damon2"), std::invalid_argument);
}
