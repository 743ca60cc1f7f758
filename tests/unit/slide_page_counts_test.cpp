// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's resident-proportional state (PageCounts), its present-page walks
// (PAGEMAP_SCAN and the chunked fallback) and its bounded swap batches, on this process and
// on a child with a sparse 1 TiB reservation. Nothing here swaps (a recording swapper).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <set>

#include "etmem/kernel/pagemap.hpp"
#include "etmem/slide/page_counts.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "etmem/unique_fd.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

constexpr std::uint64_t kTiB = 1ull << 40;
constexpr std::uint64_t kMiB = 1ull << 20;

TEST(SlidePageCounts, ChunksExistOnlyWhereTouched) {
    PageCounts counts;
    const std::uint64_t base = 0x7f0000000000;
    counts.forPages(base, 1, [](std::uint8_t& c) { c = 3; });
    counts.forPages(base + kTiB - kPageSize, 1, [](std::uint8_t& c) { c = 5; });
    ASSERT_EQ(counts.chunks().size(), 2u);  // 1 TiB apart: two 2 MiB chunks, nothing between
    EXPECT_LT(counts.bytesHeld(), 2 * kChunkPages + 256);
    EXPECT_EQ(counts.countAt(base), 3);
    EXPECT_EQ(counts.countAt(base + kTiB - kPageSize), 5);
    EXPECT_EQ(counts.countAt(base + kPageSize), 0);  // in a chunk, never touched
    EXPECT_EQ(counts.countAt(base + kTiB / 2), 0);   // in no chunk
    EXPECT_EQ(counts.find(base + kTiB / 2), nullptr);
}

TEST(SlidePageCounts, RunsSpanChunksAndOutOfOrderChunksStaySorted) {
    PageCounts counts;
    const std::uint64_t base = 64 * kChunkBytes;
    // 600 pages from the middle of a chunk: parts of two chunks.
    counts.forPages(base + 100 * kPageSize, 600, [](std::uint8_t& c) { c++; });
    counts.forPages(base - 10 * kChunkBytes, 1, [](std::uint8_t& c) { c++; });  // before
    counts.forPages(base + 5 * kChunkBytes, 1, [](std::uint8_t& c) { c++; });   // after
    auto chunks = counts.chunks();
    ASSERT_EQ(chunks.size(), 4u);
    for (std::size_t i = 1; i < chunks.size(); ++i) EXPECT_LT(chunks[i - 1].base, chunks[i].base);
    EXPECT_EQ(counts.countAt(base + 99 * kPageSize), 0);
    EXPECT_EQ(counts.countAt(base + 100 * kPageSize), 1);
    EXPECT_EQ(counts.countAt(base + 699 * kPageSize), 1);
    EXPECT_EQ(counts.countAt(base + 700 * kPageSize), 0);
}

TEST(SlidePageCounts, RegionObservationsOnlyTouchKnownChunks) {
    PageCounts counts;
    const std::uint64_t base = 0x100000000;
    counts.ensure(base + 3 * kChunkBytes, 1);
    std::size_t touched = 0;
    // A region spanning 1 TiB of unpopulated space touches the one known chunk only.
    counts.forExistingPages(base, kTiB / kPageSize, [&](std::uint8_t& c) {
        ++c;
        ++touched;
    });
    EXPECT_EQ(counts.chunks().size(), 1u);
    EXPECT_EQ(touched, kChunkPages);
    EXPECT_EQ(counts.countAt(base + 3 * kChunkBytes), 1);
    counts.clear();
    EXPECT_TRUE(counts.chunks().empty());
}

TEST(SlideRanges, IovecBatchesHoldAtMost64MiBAndSplitLargeRanges) {
    std::vector<PageRange> ranges{{0x10000000, 0x10000000 + 200 * kMiB},
                                  {0x40000000, 0x40000000 + kPageSize}};
    auto batches = toIovecBatches(ranges, kMaxIovecsPerCall, 64 * kMiB);
    ASSERT_EQ(batches.size(), 4u);  // 64 + 64 + 64 + (8 + one page)
    std::uint64_t total = 0;
    for (const auto& batch : batches) {
        std::uint64_t bytes = 0;
        for (const auto& iov : batch) bytes += iov.iov_len;
        EXPECT_LE(bytes, 64 * kMiB);
        total += bytes;
    }
    EXPECT_EQ(total, 200 * kMiB + kPageSize);
    EXPECT_EQ(reinterpret_cast<std::uint64_t>(batches[1][0].iov_base), 0x10000000 + 64 * kMiB);
    for (const auto& batch : toIovecBatches(ranges)) {  // the default: kMaxBytesPerCall
        std::uint64_t bytes = 0;
        for (const auto& iov : batch) bytes += iov.iov_len;
        EXPECT_LE(bytes, kMaxBytesPerCall);
    }
}

// A reservation of `bytes` with pages written at the given page offsets; unmapped at the end.
class Reservation {
  public:
    Reservation(std::uint64_t bytes, std::vector<std::uint64_t> pages) : bytes_(bytes) {
        void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (memory == MAP_FAILED) std::abort();
        base_ = reinterpret_cast<std::uint64_t>(memory);
        ::madvise(memory, bytes, MADV_NOHUGEPAGE);  // page-exact runs for the checks
        for (auto page : pages) std::memset(reinterpret_cast<void*>(address(page)), 1, kPageSize);
    }
    ~Reservation() { ::munmap(reinterpret_cast<void*>(base_), bytes_); }
    std::uint64_t address(std::uint64_t page) const { return base_ + page * kPageSize; }
    PageRange range() const { return {base_, base_ + bytes_}; }

  private:
    std::uint64_t base_ = 0;
    std::uint64_t bytes_;
};

TEST(SlidePresentPagemap, PagemapScanFindsThePresentRunsOfATebibyteReservation) {
    if (!pagemapScanAvailable()) GTEST_SKIP() << "this kernel has no PAGEMAP_SCAN (Linux 6.7+)";
    const std::uint64_t far = kTiB / kPageSize - 4;
    Reservation reservation(kTiB, {0, 1, 2, 1000, far, far + 1});
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    PresentPagemap present(pagemap.get(), true);
    std::vector<PageRange> runs;
    ASSERT_TRUE(present.forEachRun(reservation.range(), std::stop_token{},
                                   [&](PageRange run) { runs.push_back(run); }));
    std::vector<PageRange> expected{{reservation.address(0), reservation.address(3)},
                                    {reservation.address(1000), reservation.address(1001)},
                                    {reservation.address(far), reservation.address(far + 2)}};
    EXPECT_EQ(runs, expected);
    std::size_t entries = 0, presentEntries = 0;
    ASSERT_TRUE(present.read(reservation.range(), false, std::stop_token{},
                             [&](std::uint64_t, std::span<const PagemapEntry> chunk) {
                                 entries += chunk.size();
                                 for (const auto& e : chunk) presentEntries += e.present();
                             }));
    EXPECT_EQ(entries, 6u);  // only the present pages' entries were read, not 256 Mi of them
    EXPECT_EQ(presentEntries, 6u);
}

TEST(SlidePresentPagemap, TheChunkedFallbackSeesTheSamePages) {
    Reservation reservation(64 * kMiB, {5, 6, 4000, 16383});
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    for (bool scan : {false, pagemapScanAvailable()}) {
        PresentPagemap present(pagemap.get(), scan);
        std::set<std::uint64_t> seen;
        ASSERT_TRUE(present.read(reservation.range(), false, std::stop_token{},
                                 [&](std::uint64_t first, std::span<const PagemapEntry> chunk) {
                                     for (std::size_t i = 0; i < chunk.size(); ++i)
                                         if (chunk[i].present()) seen.insert(first + i * kPageSize);
                                 }));
        EXPECT_EQ(seen,
                  (std::set<std::uint64_t>{reservation.address(5), reservation.address(6),
                                           reservation.address(4000), reservation.address(16383)}))
            << (scan ? "PAGEMAP_SCAN" : "chunked");
    }
}

TEST(SlidePresentPagemap, AStopRequestEndsTheWalk) {
    Reservation reservation(64 * kMiB, {0, 8191});
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    std::stop_source stop;
    stop.request_stop();
    for (bool scan : {false, pagemapScanAvailable()}) {
        PresentPagemap present(pagemap.get(), scan);
        EXPECT_FALSE(present.read(reservation.range(), !scan, stop.get_token(),
                                  [](std::uint64_t, std::span<const PagemapEntry>) {}));
    }
}

// A child holding a 1 TiB private reservation with `touched` pages written at its start
// and as many 512 GiB in; it waits until killed.
class SparseChild {
  public:
    explicit SparseChild(std::size_t touched) : touched_(touched) {
        void* memory = ::mmap(nullptr, kTiB, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (memory == MAP_FAILED) std::abort();
        base_ = reinterpret_cast<std::uint64_t>(memory);
        int ready[2];
        if (::pipe(ready) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            ::madvise(memory, kTiB, MADV_NOHUGEPAGE);
            std::memset(memory, 0x5a, touched * kPageSize);
            std::memset(reinterpret_cast<char*>(memory) + kTiB / 2, 0x5a, touched * kPageSize);
            char byte = 'r';
            if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char byte = 0;
        if (::read(ready[0], &byte, 1) != 1) std::abort();
        ::close(ready[0]);
        ::munmap(memory, kTiB);
    }
    ~SparseChild() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.comm = "slide-sparse";
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    std::uint64_t first() const { return base_; }
    std::uint64_t second() const { return base_ + kTiB / 2; }
    std::size_t touched() const { return touched_; }

  private:
    pid_t pid_ = 0;
    std::uint64_t base_ = 0;
    std::size_t touched_;
};

// Reports the first `hot` pages of each touched run as written, every round.
class HotPrefixScanner final : public AccessScanner {
  public:
    HotPrefixScanner(std::vector<std::uint64_t> bases, std::size_t hot)
        : bases_(std::move(bases)), hot_(hot) {}
    std::string_view name() const override { return "hot-prefix"; }
    bool reportsOnlyPresentPages() const override { return true; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(*this);
    }

  private:
    struct Session final : ScanSession {
        explicit Session(const HotPrefixScanner& scanner) : scanner_(scanner) {}
        void round(std::stop_token, AccessSink& sink) override {
            for (auto base : scanner_.bases_) sink.record(base, scanner_.hot_, PageAccess::Written);
        }
        const HotPrefixScanner& scanner_;
    };
    std::vector<std::uint64_t> bases_;
    std::size_t hot_;
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
        maxCallBytes = std::max(maxCallBytes, bytes);
        ++calls;
        return bytes;
    }
    std::mutex mutex;
    std::set<std::uint64_t> pages;
    std::uint64_t maxCallBytes = 0;
    int calls = 0;
};

class RecordingLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext&, std::string_view message) override {
        std::lock_guard lock(mutex);
        messages.push_back({level, std::string(message)});
    }
    std::mutex mutex;
    std::vector<std::pair<LogLevel, std::string>> messages;
};

struct SparseFixture {
    ProjectConfig project;
    TaskConfig task;
    RecordingLogger logger;
    std::shared_ptr<RecordingSwapper> swapper = std::make_shared<RecordingSwapper>();

    CycleReport cycle(const SparseChild& child, std::size_t hot, SlideOptions options = {}) {
        project.loop = 2;
        task.slide.T = 2;
        options.scannerOverride = std::make_shared<HotPrefixScanner>(
            std::vector<std::uint64_t>{child.first(), child.second()}, hot);
        options.swapperOverride = swapper;
        options.swapActiveOverride = true;
        auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, std::move(options));
        std::vector<Target> targets;
        targets.push_back(child.target());
        engine->beginCycle(targets, std::stop_token{});
        for (unsigned i = 0; i < project.loop; ++i) engine->scan(std::stop_token{});
        return engine->act(std::stop_token{});
    }
};

TEST(SlideSparseTarget, OnlyResidentPagesOfATebibyteReservationAreClassifiedAndColdOnesGo) {
    SparseChild child(64);
    SparseFixture fixture;
    auto report = fixture.cycle(child, 16);
    EXPECT_EQ(report.error, "");
    // The child's other private memory (heap, stack, data) is classified too, all cold.
    EXPECT_EQ(report.pagesHot, 2u * 16);
    EXPECT_GE(report.pagesCold, 2u * (64 - 16));
    std::set<std::uint64_t> expected, swappedInReservation;
    for (std::size_t i = 16; i < 64; ++i) {
        expected.insert(child.first() + i * kPageSize);
        expected.insert(child.second() + i * kPageSize);
    }
    for (auto page : fixture.swapper->pages)
        if (page >= child.first() && page < child.first() + kTiB) swappedInReservation.insert(page);
    EXPECT_EQ(swappedInReservation, expected);
    EXPECT_EQ(fixture.swapper->pages.size(), report.pagesCold);
}

TEST(SlideSparseTarget, WithoutPagemapScanAHugeTargetIsSkippedWithAReason) {
    SparseChild child(8);
    SparseFixture fixture;
    SlideOptions options;
    options.withoutPagemapScan = true;
    auto report = fixture.cycle(child, 0, std::move(options));
    EXPECT_NE(report.error.find("PAGEMAP_SCAN"), std::string::npos) << report.error;
    EXPECT_NE(report.error.find("skipped"), std::string::npos) << report.error;
    EXPECT_EQ(report.pagesScanned, 0u);
    EXPECT_TRUE(fixture.swapper->pages.empty());
}

TEST(SlideColdSelection, ASelectorCanKeepColdPagesInMemory) {
    SparseChild child(32);
    SparseFixture fixture;
    SlideOptions options;
    std::uint64_t seenResident = 0;
    options.selectCold = [&](ColdSelection& selection) {
        seenResident = selection.residentPages;
        // Every cold page has count 0 here (the hot ones were written every round).
        EXPECT_GE(selection.swapBudget[0], 2u * (32 - 8));
        EXPECT_EQ(selection.swapBudget[6], 0u);  // hot: not offered
        selection.swapBudget[0] = 5;             // only five go
    };
    auto report = fixture.cycle(child, 8, std::move(options));
    EXPECT_EQ(seenResident, report.pagesScanned);
    EXPECT_GE(report.pagesCold, 48u);
    EXPECT_EQ(fixture.swapper->pages.size(), 5u);
}

}  // namespace

namespace {

TEST(SlideBackendRegistry, APinnedButMissingScannerIsNamedWithWhatItNeeds) {
    BackendProbe nothing;  // a machine with no backend at all
    nothing.missing.push_back(
        {"damon",
         "the kernel has no DAMON sysfs interface (CONFIG_DAMON_SYSFS): the damon scanner is "
         "not available"});
    std::string why;
    EXPECT_EQ(chooseScanner(parseScannerChoice("damon"), nothing, why), std::nullopt);
    EXPECT_NE(why.find("the damon scanner is not available"), std::string::npos) << why;
    EXPECT_NE(why.find("DAMON's sysfs interface"), std::string::npos) << why;
    EXPECT_NE(why.find("CONFIG_DAMON_SYSFS)"), std::string::npos) << why;  // the probe's word
    EXPECT_NE(why.find("set scanner to auto"), std::string::npos) << why;
    why.clear();
    EXPECT_EQ(chooseScanner(ScannerChoice::automatic(), nothing, why), std::nullopt);
    for (const auto& row : kScannerRows) EXPECT_NE(why.find(row.name), std::string::npos) << why;
}

TEST(SlideBackendRegistry, AutoTakesTheFirstAvailableInTableOrderAndNamesRoundTrip) {
    BackendProbe probe;
    probe.available = {"idle_page", "damon"};
    std::string why;
    EXPECT_EQ(chooseScanner(ScannerChoice::automatic(), probe, why),
              parseScannerChoice("idle_page"));
    EXPECT_EQ(chooseScanner(parseScannerChoice("damon"), probe, why), parseScannerChoice("damon"));
    probe.available.push_back("swap_pages");
    EXPECT_EQ(chooseSwapper(SwapperChoice::automatic(), probe, why),
              parseSwapperChoice("swap_pages"));
    for (auto name : kScannerNames) EXPECT_EQ(toString(parseScannerChoice(name)), name);
    for (auto name : kSwapperNames) EXPECT_EQ(toString(parseSwapperChoice(name)), name);
    try {
        parseScannerChoice("bogus");
        ADD_FAILURE() << "bogus accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("auto, idle_pages, idle_page or damon"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace

namespace {

// Records which kernel thread ran each round of each target.
class ThreadRecordingScanner final : public AccessScanner {
  public:
    std::string_view name() const override { return "thread-recording"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(*this);
    }
    std::mutex mutex;
    std::set<pid_t> tids;
    int rounds = 0;

  private:
    struct Session final : ScanSession {
        explicit Session(ThreadRecordingScanner& scanner) : scanner_(scanner) {}
        void round(std::stop_token, AccessSink&) override {
            std::lock_guard lock(scanner_.mutex);
            scanner_.tids.insert(static_cast<pid_t>(::syscall(SYS_gettid)));
            scanner_.rounds++;
        }
        ThreadRecordingScanner& scanner_;
    };
};

TEST(SlideManyTargets, TheWorkersAreMadeOncePerCycleNotPerRound) {
    // 40 targets (this process, held 40 times), 8 workers, 5 rounds: with threads made per
    // round there would be up to 40 distinct worker threads; a pool has at most 8.
    ProjectConfig project;
    project.loop = 5;
    TaskConfig task;
    task.slide.T = 1;
    task.maxThreads = 8;
    RecordingLogger logger;
    SlideOptions options;
    auto scanner = std::make_shared<ThreadRecordingScanner>();
    options.scannerOverride = scanner;
    options.swapperOverride = std::make_shared<RecordingSwapper>();
    options.swapActiveOverride = true;
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, std::move(options));
    std::vector<Target> targets;
    for (int i = 0; i < 40; ++i) {
        Target target;
        target.pid = ::getpid();
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
        targets.push_back(std::move(target));
    }
    engine->beginCycle(targets, std::stop_token{});
    for (unsigned i = 0; i < project.loop; ++i) engine->scan(std::stop_token{});
    std::lock_guard lock(scanner->mutex);
    EXPECT_EQ(scanner->rounds, 40 * 5);
    EXPECT_LE(scanner->tids.size(), 8u);
    EXPECT_GE(scanner->tids.size(), 1u);
}

TEST(SlideStopStages, EveryStageReturnsAtOnceWhenStopIsAlreadyRequested) {
    SparseChild child(64);
    ProjectConfig project;
    project.loop = 1;
    TaskConfig task;
    task.slide.T = 1;
    RecordingLogger logger;
    auto swapper = std::make_shared<RecordingSwapper>();
    SlideOptions options;
    options.scannerOverride =
        std::make_shared<HotPrefixScanner>(std::vector<std::uint64_t>{child.first()}, 1);
    options.swapperOverride = swapper;
    options.swapActiveOverride = true;
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, std::move(options));
    std::vector<Target> targets;
    targets.push_back(child.target());
    std::stop_source stop;
    stop.request_stop();
    engine->beginCycle(targets, stop.get_token());
    engine->scan(stop.get_token());
    auto report = engine->act(stop.get_token());
    EXPECT_EQ(report.pagesScanned, 0u);
    EXPECT_TRUE(swapper->pages.empty());
}

}  // namespace
