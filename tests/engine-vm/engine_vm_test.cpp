// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine against real kernels, run as root in a test guest (tests/vm): the
// workload's cold pages leave, its hot pages stay, every checksum holds; marking pages idle
// needs the clear_refs TLB flush; a target exiting mid-cycle is dropped; no swap is reported.
// A feature the runner promised (ETMEM_VM_FEATURES) that is missing is a failure, not a skip.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "etmem/engines/damon_engine.hpp"
#include "etmem/kernel/idle_bitmap.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "workload_client.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

std::string workloadPath() {
    const char* path = std::getenv("ETMEM_WORKLOAD");
    return path ? path : "etmem-workload";
}

bool promised(const std::string& feature) {
    const char* list = std::getenv("ETMEM_VM_FEATURES");
    return list && ("," + std::string(list) + ",").find("," + feature + ",") != std::string::npos;
}

#define REQUIRE_FEATURE(present, feature)                                               \
    do {                                                                                \
        if (!(present)) {                                                               \
            if (promised(feature)) FAIL() << feature << " was promised but is missing"; \
            GTEST_SKIP() << feature << " is not available here";                        \
        }                                                                               \
    } while (0)

// etmem-workload ($ETMEM_WORKLOAD) with this suite's seed.
class Workload : public test::WorkloadProcess {
  public:
    Workload(std::size_t hot, std::size_t cold, std::vector<std::string> extra = {})
        : WorkloadProcess(options(hot, cold, std::move(extra))) {}

  private:
    static test::WorkloadOptions options(std::size_t hot, std::size_t cold,
                                         std::vector<std::string> extra) {
        test::WorkloadOptions options;
        options.program = workloadPath();
        options.hotPages = hot;
        options.coldPages = cold;
        options.seed = 42;
        options.extraArgs = std::move(extra);
        return options;
    }
};

class PrintLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext& context, std::string_view message) override {
        std::lock_guard lock(mutex_);
        std::printf("[engine %d pid %d] %.*s\n", static_cast<int>(level), context.pid,
                    static_cast<int>(message.size()), message.data());
        entries.emplace_back(level, std::string(message));
    }
    std::vector<std::pair<LogLevel, std::string>> entries;

  private:
    std::mutex mutex_;
};

CycleReport runCycle(TaskEngine& engine, std::span<const Target> targets, unsigned loop,
                     std::chrono::milliseconds interval) {
    engine.beginCycle(targets, std::stop_token{});
    for (unsigned i = 0; i < loop; ++i) {
        std::this_thread::sleep_for(interval);
        engine.scan(std::stop_token{});
    }
    return engine.act(std::stop_token{});
}

void printReport(const CycleReport& report) {
    std::printf(
        "scanned %llu hot %llu cold %llu swapped %llu pages (%llu bytes) scanner %s "
        "swapper %s error '%s'\nhistogram:",
        static_cast<unsigned long long>(report.pagesScanned),
        static_cast<unsigned long long>(report.pagesHot),
        static_cast<unsigned long long>(report.pagesCold),
        static_cast<unsigned long long>(report.pagesSwapped),
        static_cast<unsigned long long>(report.bytesSwapped), report.scanner.c_str(),
        report.swapper.c_str(), report.error.c_str());
    for (auto n : report.histogram) std::printf(" %llu", static_cast<unsigned long long>(n));
    std::printf("\n");
}

// Reports the workload's hot pages as written in every round: the swap path on kernels
// without an access scanner.
class LayoutScanner final : public AccessScanner {
  public:
    explicit LayoutScanner(const Workload& workload) : workload_(workload) {}
    std::string_view name() const override { return "layout"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(workload_);
    }

  private:
    class Session final : public ScanSession {
      public:
        explicit Session(const Workload& workload) : workload_(workload) {}
        void round(std::stop_token, AccessSink& sink) override {
            for (std::size_t i = 0; i < workload_.pages; ++i)
                if (workload_.isHot(i))
                    sink.record(workload_.base + i * kPageSize, 1, PageAccess::Written);
        }

      private:
        const Workload& workload_;
    };
    const Workload& workload_;
};

ProjectConfig project(unsigned loop) {
    ProjectConfig config;
    config.loop = loop;
    return config;
}

TaskConfig task(unsigned threshold) {
    TaskConfig config;
    config.slide.T = threshold;
    return config;
}

// One engine cycle over the workload: `loop` scan rounds `interval` apart, threshold T;
// the report is printed.
CycleReport runEngineCycle(const Workload& workload, unsigned loop, unsigned threshold,
                           SlideOptions options, std::chrono::milliseconds interval,
                           PrintLogger& logger) {
    auto projectConfig = project(loop);
    auto taskConfig = task(threshold);
    auto engine =
        makeSlideEngine(EngineContext{projectConfig, taskConfig, {}, logger}, std::move(options));
    std::vector<Target> targets;
    targets.push_back(workload.target());
    auto report = runCycle(*engine, targets, loop, interval);
    printReport(report);
    return report;
}

// What every swapping cycle must achieve: the cold set out, the hot set in.
void expectColdSwappedHotKept(const Workload& workload) {
    auto fractions = workload.swappedFractions();
    std::printf("cold swapped %.4f, hot swapped %.4f\n", fractions.cold, fractions.hot);
    EXPECT_GE(fractions.cold, 0.95);
    EXPECT_LE(fractions.hot, 0.02);
}

std::string readWord(const std::string& path) {
    std::ifstream in(path);
    std::string word;
    in >> word;
    return word;
}

// A kdamond's state: reading it fails (EBUSY) while a tried-regions request holds DAMON's
// sysfs lock, for up to a window; ask again for a while.
std::string kdamondState(const std::string& kdamond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    std::string word;
    while ((word = readWord(kdamond + "/state")).empty() &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return word;
}

// One cycle of `scanner` over the workload, 3 rounds 1 s apart with threshold T: that scanner
// ran, without an error, and the cold set left while the hot set stayed.
void expectOneCycleSwapsColdKeepsHot(const Workload& workload, ScannerChoice scanner,
                                     const std::string& scannerName, unsigned threshold) {
    PrintLogger logger;
    SlideOptions options;
    options.scanner = scanner;
    auto report = runEngineCycle(workload, 3, threshold, options, std::chrono::seconds(1), logger);
    EXPECT_EQ(report.scanner, scannerName);
    EXPECT_EQ(report.error, "");
    expectColdSwappedHotKept(workload);
}

}  // namespace

TEST(SlideNoSwap, ACycleWithoutSwapReportsItAndSwapsNothing) {
    ASSERT_FALSE(probeBackends().swapActive) << "run this test before swap is turned on";
    Workload workload(64, 512);
    PrintLogger logger;
    SlideOptions options;
    options.scannerOverride = std::make_shared<LayoutScanner>(workload);
    auto report = runEngineCycle(workload, 1, 1, options, std::chrono::milliseconds(100), logger);
    EXPECT_NE(report.error.find("no swap device is active"), std::string::npos);
    EXPECT_EQ(report.pagesSwapped, 0u);
    EXPECT_GE(report.pagesCold, 512u);
    EXPECT_EQ(workload.swappedFractions().cold, 0.0);
    EXPECT_EQ(workload.stop(), 0);
}

TEST(SlideSwap, MadviseSwapsTheColdPagesAndPagemapConfirmsThem) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.swapActive, "swap");
    REQUIRE_FEATURE(probe.has("madvise"), "process_madvise");
    Workload workload(256, 4096);
    PrintLogger logger;
    SlideOptions options;
    options.scannerOverride = std::make_shared<LayoutScanner>(workload);
    options.swapper = parseSwapperChoice("madvise");
    auto report = runEngineCycle(workload, 2, 3, options, std::chrono::milliseconds(200), logger);
    EXPECT_EQ(report.error, "");
    expectColdSwappedHotKept(workload);
    EXPECT_GE(report.pagesSwapped, 4096u * 95 / 100);
    EXPECT_EQ(report.bytesSwapped, report.pagesSwapped * kPageSize);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

TEST(SlideIdlePage, OneCycleSwapsTheColdSetAndKeepsTheHotSet) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("idle_page"), "idle_page_tracking");
    REQUIRE_FEATURE(probe.swapActive, "swap");
    Workload workload(512, 8192);
    expectOneCycleSwapsColdKeepsHot(workload, parseScannerChoice("idle_page"), "idle_page", 2);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

TEST(SlideIdlePage, ATargetThatExitsMidCycleIsDroppedNotAnError) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("idle_page"), "idle_page_tracking");
    Workload workload(64, 1024, {"--exit-after-ms", "1500"});
    PrintLogger logger;
    SlideOptions options;
    options.scanner = parseScannerChoice("idle_page");
    auto report = runEngineCycle(workload, 3, 2, options, std::chrono::seconds(1), logger);
    EXPECT_EQ(report.error.find("exited"), std::string::npos) << report.error;
    EXPECT_EQ(report.pagesScanned, 0u);
    bool dropped = false;
    for (const auto& [level, message] : logger.entries)
        dropped |= level == LogLevel::Info && message.find("exited") != std::string::npos;
    EXPECT_TRUE(dropped);
    EXPECT_EQ(workload.wait(), 0);
}

TEST(SlideDamon, OneCycleSwapsTheColdSetAndKeepsTheHotSetAndReleasesTheKdamond) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("damon"), "damon_sysfs");
    REQUIRE_FEATURE(probe.swapActive, "swap");
    // Region granularity: DAMON sees the scattered hot pages' regions as read (1 per round);
    // soft-dirty sees the hot pages themselves written (3 per round). T = 4 over 3 rounds
    // keeps what was written and lets the read-only neighbours go.
    Workload workload(512, 8192);
    expectOneCycleSwapsColdKeepsHot(workload, parseScannerChoice("damon"), "damon", 4);
    // The cycle is over: etmem's kdamond is off again, the others were never touched.
    EXPECT_EQ(kdamondState("/sys/kernel/mm/damon/admin/kdamonds/0"), "off");
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

// A cycle's targets share one kdamond (a scheme per target, filtered to it): every target sees
// every window, and setting up the second does not meet the first's tried-regions request
// holding DAMON's sysfs lock. Three processes of one program (similar address layouts, so
// the per-target filter is what keeps their regions apart).
TEST(SlideDamon, SeveralTargetsShareOneKdamondAndEachKeepsItsHotSet) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("damon"), "damon_sysfs");
    REQUIRE_FEATURE(probe.swapActive, "swap");
    std::vector<std::unique_ptr<Workload>> workloads;
    for (int i = 0; i < 3; ++i) workloads.push_back(std::make_unique<Workload>(512, 4096));
    PrintLogger logger;
    SlideOptions options;
    options.scanner = parseScannerChoice("damon");
    auto projectConfig = project(3);
    auto taskConfig = task(4);
    auto engine =
        makeSlideEngine(EngineContext{projectConfig, taskConfig, {}, logger}, std::move(options));
    std::vector<Target> targets;
    for (const auto& workload : workloads) targets.push_back(workload->target());
    const std::string kdamonds = "/sys/kernel/mm/damon/admin/kdamonds/";
    engine->beginCycle(targets, std::stop_token{});
    EXPECT_EQ(kdamondState(kdamonds + "0"), "on");
    EXPECT_EQ(readWord(kdamonds + "0/contexts/0/targets/nr_targets"), "3");
    EXPECT_EQ(readWord(kdamonds + "0/contexts/0/schemes/nr_schemes"), "3");
    EXPECT_EQ(kdamondState(kdamonds + "1"), "off") << "one kdamond per cycle, not per target";
    for (int round = 0; round < 3; ++round) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        engine->scan(std::stop_token{});
    }
    auto report = engine->act(std::stop_token{});
    printReport(report);
    EXPECT_EQ(report.error, "");
    for (const auto& workload : workloads) expectColdSwappedHotKept(*workload);
    EXPECT_EQ(kdamondState(kdamonds + "0"), "off");
    for (const auto& workload : workloads) EXPECT_EQ(workload->stop(), 0);
}

TEST(SlideStop, AScanReturnsPromptlyOnceStopIsRequested) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("idle_page") || probe.has("damon"), "an access scanner");
    Workload workload(0, 65536);  // 256 MiB resident
    auto projectConfig = project(1);
    auto taskConfig = task(1);
    PrintLogger logger;
    auto engine = makeSlideEngine(EngineContext{projectConfig, taskConfig, {}, logger});
    std::vector<Target> targets;
    targets.push_back(workload.target());
    engine->beginCycle(targets, std::stop_token{});
    std::stop_source stop;
    auto started = std::chrono::steady_clock::now();
    std::thread scanner([&] { engine->scan(stop.get_token()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto requested = std::chrono::steady_clock::now();
    stop.request_stop();
    scanner.join();
    auto returned = std::chrono::steady_clock::now();
    auto afterStop = std::chrono::duration_cast<std::chrono::milliseconds>(returned - requested);
    auto whole = std::chrono::duration_cast<std::chrono::milliseconds>(returned - started);
    std::printf("scan returned %lld ms after the stop request (%lld ms in all)\n",
                static_cast<long long>(afterStop.count()), static_cast<long long>(whole.count()));
    EXPECT_LT(afterStop.count(), 1000);
    EXPECT_EQ(workload.stop(), 0);
}

namespace {

void pinTo(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ::sched_setaffinity(0, sizeof set, &set);
}

// Marks a child's 128 freshly used pages idle, lets the child write each once (through the
// translations it has cached), and counts how many the bitmap then shows as accessed.
std::size_t pagesSeenWritten(bool flushTlb) {
    constexpr std::size_t kPagesUnderTest = 128;
    auto* control = static_cast<std::atomic<int>*>(
        ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (control) std::atomic<int>(0);
    auto* memory =
        static_cast<char*>(::mmap(nullptr, kPagesUnderTest * kPageSize, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    pid_t child = ::fork();
    if (child == 0) {
        pinTo(1);
        // Keep the TLB warm: touch every page until told to stop, spinning (no sleep, no
        // context switch that could flush the TLB).
        while (control->load() == 0)
            for (std::size_t i = 0; i < kPagesUnderTest; ++i) memory[i * kPageSize] += 1;
        control->store(2);
        while (control->load() != 3) {
        }
        for (std::size_t i = 0; i < kPagesUnderTest; ++i) memory[i * kPageSize] += 1;
        control->store(4);
        while (control->load() != 5) {
        }
        ::_exit(0);
    }
    pinTo(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    control->store(1);
    while (control->load() != 2) {
    }
    Target target;
    target.pid = child;
    target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    UniqueFd pagemap(openTargetFile(target, "/proc", "pagemap", O_RDONLY));
    UniqueFd clearRefs(openTargetFile(target, "/proc", "clear_refs", O_WRONLY));
    UniqueFd bitmap(::open("/sys/kernel/mm/page_idle/bitmap", O_RDWR));
    std::vector<std::uint64_t> pfns;
    auto base = reinterpret_cast<std::uint64_t>(memory);
    readPagemap(pagemap.get(), {base, base + kPagesUnderTest * kPageSize}, std::stop_token{},
                [&](std::uint64_t, std::span<const PagemapEntry> entries) {
                    for (const auto& entry : entries) pfns.push_back(entry.pfn());
                });
    PfnWordSet words(pfns);
    words.markIdle(bitmap.get(), std::stop_token{});
    if (flushTlb) clearSoftDirty(clearRefs.get());
    control->store(3);
    while (control->load() != 4) {
    }
    words.readIdle(bitmap.get(), std::stop_token{});
    std::size_t seen = 0;
    for (auto pfn : pfns) seen += !words.isIdle(pfn);
    control->store(5);
    ::waitpid(child, nullptr, 0);
    ::munmap(memory, kPagesUnderTest * kPageSize);
    ::munmap(control, kPageSize);
    return seen;
}

}  // namespace

TEST(SlideTlb, ClearRefsFlushMakesWritesThroughCachedTranslationsVisible) {
    REQUIRE_FEATURE(probeBackends().has("idle_page"), "idle_page_tracking");
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs two CPUs";
    std::size_t without = pagesSeenWritten(false);
    std::size_t with = pagesSeenWritten(true);
    std::printf("written pages seen as accessed: %zu/128 without the flush, %zu/128 with it\n",
                without, with);
    EXPECT_GE(with, 126u);
    EXPECT_LT(without, with);
}

namespace {

long selfStatusKb(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(std::string(field) + ":", 0) == 0)
            return std::stol(line.substr(std::strlen(field) + 1));
    return -1;
}

// A child reserving 1 TiB (PROT_READ|WRITE, MAP_NORESERVE, the way sanitizers and runtimes
// reserve address space) with `residentPages` written at its start; it keeps writing the
// first `hotPages` every 50 ms until killed.
class SparseTarget {
  public:
    static constexpr std::uint64_t kReservation = 1ull << 40;
    SparseTarget(std::size_t residentPages, std::size_t hotPages)
        : resident_(residentPages), hot_(hotPages) {
        void* memory = ::mmap(nullptr, kReservation, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (memory == MAP_FAILED) std::abort();
        base_ = reinterpret_cast<std::uint64_t>(memory);
        // Base pages: the hot/cold split below is page-exact (THPs are tested elsewhere).
        ::madvise(memory, kReservation, MADV_NOHUGEPAGE);
        int ready[2];
        if (::pipe(ready) != 0) std::abort();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            auto* bytes = static_cast<volatile char*>(memory);
            for (std::size_t i = 0; i < residentPages; ++i) bytes[i * kPageSize] = 1;
            char byte = 'r';
            if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
            for (;;) {
                for (std::size_t i = 0; i < hotPages; ++i)
                    bytes[i * kPageSize] = static_cast<char>(bytes[i * kPageSize] + 1);
                ::usleep(50'000);
            }
        }
        ::close(ready[1]);
        char byte = 0;
        if (::read(ready[0], &byte, 1) != 1) std::abort();
        ::close(ready[0]);
        ::munmap(memory, kReservation);
    }
    std::uint64_t base() const { return base_; }
    ~SparseTarget() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    // Fractions of the cold and hot pages that pagemap shows swapped.
    std::pair<double, double> swapped() const {
        UniqueFd pagemap(::open(("/proc/" + std::to_string(pid_) + "/pagemap").c_str(), O_RDONLY));
        std::size_t cold = 0, hot = 0, index = 0;
        readPagemap(pagemap.get(), {base_, base_ + resident_ * kPageSize}, std::stop_token{},
                    [&](std::uint64_t, std::span<const PagemapEntry> entries) {
                        for (const auto& entry : entries) {
                            if (entry.swapped()) (index < hot_ ? hot : cold)++;
                            ++index;
                        }
                    });
        return {double(cold) / double(resident_ - hot_), double(hot) / double(hot_)};
    }

  private:
    pid_t pid_ = 0;
    std::uint64_t base_ = 0;
    std::size_t resident_;
    std::size_t hot_;
};

// Reports `pages` pages from `base` as written in every round.
class HotPrefixScanner final : public AccessScanner {
  public:
    HotPrefixScanner(std::uint64_t base, std::size_t pages) : base_(base), pages_(pages) {}
    std::string_view name() const override { return "hot-prefix"; }
    bool reportsOnlyPresentPages() const override { return true; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(base_, pages_);
    }

  private:
    struct Session final : ScanSession {
        Session(std::uint64_t base, std::size_t pages) : base_(base), pages_(pages) {}
        void round(std::stop_token, AccessSink& sink) override {
            sink.record(base_, pages_, PageAccess::Written);
        }
        std::uint64_t base_;
        std::size_t pages_;
    };
    std::uint64_t base_;
    std::size_t pages_;
};

}  // namespace

// The case: a 1 TiB reservation with 16 MiB resident. The engine's memory follows
// the resident pages (bound: 1 byte per resident page + 8 MiB of buffers), the cycle
// finishes promptly, and the cold pages still go out.
TEST(SlideSparse, ATebibyteReservationCostsWhatIsResidentAndItsColdPagesGo) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.swapActive, "swap");
    REQUIRE_FEATURE(probe.has("madvise"), "process_madvise");
    ASSERT_TRUE(probe.pagemapScan) << "the test kernels have PAGEMAP_SCAN (Linux 6.7+)";
    constexpr std::size_t kResident = 4096, kHot = 256;  // 16 MiB, 1 MiB of it hot
    SparseTarget sparse(kResident, kHot);
    PrintLogger logger;
    SlideOptions options;
    // The real scanner where the kernel has one that sees pages; elsewhere (backports) the
    // target's hot pages are reported as written, and the rest (state, walks, swap-out,
    // confirmation) is the engine's real path on a real kernel.
    if (probe.has("idle_page"))
        options.scanner = parseScannerChoice("idle_page");
    else
        options.scannerOverride = std::make_shared<HotPrefixScanner>(sparse.base(), kHot);
    options.swapper = parseSwapperChoice("madvise");
    auto projectConfig = project(3);
    auto taskConfig = task(2);
    auto engine =
        makeSlideEngine(EngineContext{projectConfig, taskConfig, {}, logger}, std::move(options));
    std::vector<Target> targets;
    targets.push_back(sparse.target());
    std::ofstream("/proc/self/clear_refs") << "5";  // reset VmHWM
    long before = selfStatusKb("VmRSS");
    auto started = std::chrono::steady_clock::now();
    auto report = runCycle(*engine, targets, 3, std::chrono::seconds(1));
    auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    long growthKb = selfStatusKb("VmHWM") - before;
    printReport(report);
    auto [cold, hot] = sparse.swapped();
    std::printf(
        "sparse 1 TiB / 16 MiB resident: cycle %.2f s (3 rounds 1 s apart), peak RSS "
        "growth %ld KiB, cold swapped %.4f, hot swapped %.4f\n",
        seconds, growthKb, cold, hot);
    EXPECT_EQ(report.error, "");
    EXPECT_GE(report.pagesScanned, kResident);  // and the child's own few pages
    EXPECT_LE(growthKb * 1024, long(kResident) + 8 * 1024 * 1024);
    EXPECT_GE(cold, 0.95);
    EXPECT_LE(hot, 0.02);
    EXPECT_LT(seconds, 3 + 20.0) << "the walks must not follow the 1 TiB of address space";
}

namespace {

// The workload's layout, with a switch: while `resting` is set its hot pages are reported
// idle too (a workload whose hot set went quiet), so they turn cold and age.
class RestingLayoutScanner final : public AccessScanner {
  public:
    explicit RestingLayoutScanner(const Workload& workload) : workload_(workload) {}
    std::string_view name() const override { return "layout"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(workload_, resting);
    }
    std::shared_ptr<std::atomic<bool>> resting = std::make_shared<std::atomic<bool>>(false);

  private:
    class Session final : public ScanSession {
      public:
        Session(const Workload& workload, std::shared_ptr<std::atomic<bool>> resting)
            : workload_(workload), resting_(std::move(resting)) {}
        void round(std::stop_token, AccessSink& sink) override {
            if (*resting_) return;
            for (std::size_t i = 0; i < workload_.pages; ++i)
                if (workload_.isHot(i))
                    sink.record(workload_.base + i * kPageSize, 1, PageAccess::Written);
        }

      private:
        const Workload& workload_;
        std::shared_ptr<std::atomic<bool>> resting_;
    };
    const Workload& workload_;
};

std::size_t swappedPagesOf(const Workload& workload) {
    std::size_t swapped = 0;
    for (const auto& entry : workload.entries()) swapped += entry.swapped();
    return swapped;
}

void printObserveFigures(const char* what, const CycleReport& report) {
    std::printf(
        "FIGURE %s: cold %llu pages, would_swap %llu pages (%llu bytes), swapped %llu "
        "bytes, refaults %llu, idle_bytes 1/2/4/8: %llu/%llu/%llu/%llu\n",
        what, static_cast<unsigned long long>(report.pagesCold),
        static_cast<unsigned long long>(report.extra.count(figure::kWouldSwapPages)),
        static_cast<unsigned long long>(report.extra.count(figure::kWouldSwapBytes)),
        static_cast<unsigned long long>(report.bytesSwapped),
        static_cast<unsigned long long>(report.extra.count(figure::kRefaults)),
        static_cast<unsigned long long>(report.extra.count(figure::idleBytesName(1))),
        static_cast<unsigned long long>(report.extra.count(figure::idleBytesName(2))),
        static_cast<unsigned long long>(report.extra.count(figure::idleBytesName(4))),
        static_cast<unsigned long long>(report.extra.count(figure::idleBytesName(8))));
}

}  // namespace

// Reads up to `count` of the workload's swapped cold pages through /proc/PID/mem, as the
// workload would: they are faulted back in. Returns how many it read.
std::size_t readSwappedColdPages(const Workload& workload, std::size_t count) {
    UniqueFd mem(::open(("/proc/" + std::to_string(workload.pid()) + "/mem").c_str(), O_RDONLY));
    if (!mem) return 0;
    const auto entries = workload.entries();
    std::vector<char> page(kPageSize);
    std::size_t read = 0;
    for (std::size_t i = 0; i < entries.size() && read < count; ++i) {
        if (workload.isHot(i) || !entries[i].swapped()) continue;
        if (::pread(mem.get(), page.data(), kPageSize,
                    static_cast<off_t>(workload.base + i * kPageSize)) ==
            static_cast<ssize_t>(kPageSize))
            ++read;
    }
    return read;
}

// mode observe on the workload: dry cycles swap no page, and their idle ages follow the
// layout (after five cycles, the hot set quiet since the third: the cold set 5 cycles cold,
// the hot set 3). A real cycle then swaps what the last dry one said it would, within 2%;
// the swapped pages read back are counted as refaults in the cycle after.
TEST(SlideObserve, ADryRunSaysWhatARealRunSwapsAndIdleAgesFollowTheLayout) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.swapActive, "swap");
    REQUIRE_FEATURE(probe.has("madvise"), "process_madvise");
    constexpr std::size_t kHot = 256, kCold = 4096, kReadBack = 512;
    Workload workload(kHot, kCold);
    PrintLogger logger;
    auto projectConfig = project(2);
    auto taskConfig = task(3);
    auto scanner = std::make_shared<RestingLayoutScanner>(workload);
    auto engineIn = [&](RunMode mode) {
        taskConfig.slide.mode = mode;
        SlideOptions options;
        options.scannerOverride = scanner;
        options.swapper = parseSwapperChoice("madvise");
        return makeSlideEngine(EngineContext{projectConfig, taskConfig, {}, logger},
                               std::move(options));
    };
    std::vector<Target> targets;
    targets.push_back(workload.target());
    const auto interval = std::chrono::milliseconds(200);

    auto dry = engineIn(RunMode::Observe);
    CycleReport lastDry;
    for (int cycle = 1; cycle <= 6; ++cycle) {
        *scanner->resting = cycle >= 3 && cycle <= 5;
        lastDry = runCycle(*dry, targets, 2, interval);
        EXPECT_EQ(lastDry.error, "");
        EXPECT_EQ(lastDry.pagesSwapped, 0u);
        EXPECT_EQ(swappedPagesOf(workload), 0u) << "the dry run moved a page in cycle " << cycle;
        EXPECT_GE(lastDry.extra.count(figure::kWouldSwapPages), kCold);
        if (cycle != 5) continue;
        printObserveFigures("dry run, cycle 5 (hot set quiet since cycle 3)", lastDry);
        const auto idle = [&](unsigned age) {
            return lastDry.extra.count(figure::idleBytesName(age));
        };
        EXPECT_EQ(idle(1), lastDry.pagesCold * kPageSize);
        EXPECT_GE(idle(4), kCold * kPageSize);  // the cold set: 5 cycles
        // The quiet hot set: 3 cycles (>= 2, not >= 4); pages the workload's own run made
        // resident since may join it.
        EXPECT_GE(idle(2) - idle(4), kHot * kPageSize);
        EXPECT_LE(idle(2) - idle(4), (kHot + 16) * kPageSize);
        EXPECT_EQ(idle(8), 0u);
    }
    printObserveFigures("dry run, cycle 6", lastDry);
    const std::uint64_t wouldSwap = lastDry.extra.count(figure::kWouldSwapBytes);

    auto real = engineIn(RunMode::Act);
    auto acted = runCycle(*real, targets, 2, interval);
    printObserveFigures("real run, cycle 1", acted);
    EXPECT_EQ(acted.error, "");
    const double ratio = static_cast<double>(acted.bytesSwapped) /
                         static_cast<double>(std::max<std::uint64_t>(wouldSwap, 1));
    std::printf(
        "FIGURE dry run vs real run: would swap %llu bytes, swapped %llu bytes, "
        "ratio %.4f\n",
        static_cast<unsigned long long>(wouldSwap),
        static_cast<unsigned long long>(acted.bytesSwapped), ratio);
    EXPECT_NEAR(ratio, 1.0, 0.02);
    EXPECT_GE(swappedPagesOf(workload), kCold * 95 / 100);

    const std::size_t readBack = readSwappedColdPages(workload, kReadBack);
    EXPECT_EQ(readBack, kReadBack);
    auto after = runCycle(*real, targets, 2, interval);
    std::printf("FIGURE refaults: %zu swapped pages read back\n", readBack);
    printObserveFigures("real run, cycle 2", after);
    EXPECT_GE(after.extra.count(figure::kRefaults), readBack);
    EXPECT_LE(after.extra.count(figure::kRefaults), readBack + 64);
}

// Engine damon (etmem 1.1's damon engine): a DAMOS pageout scheme on the workload, with 1.1's
// keys (regions never accessed for 10 aggregation intervals of 100 ms). The kernel acts on its
// own between the engine's calls; the workload's hot set sits in runs of 64 pages, the grain
// DAMON's adaptive regions reach in seconds. Cold pages leave, hot pages stay, every value
// holds, the scheme's stats are the cycle's figures, and stopping turns the kdamond off at
// once.
TEST(DamonEngine, APageoutSchemeSwapsTheColdSetKeepsTheHotSetAndStopsAtOnce) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("damon"), "damon_sysfs");
    REQUIRE_FEATURE(probe.swapActive, "swap");
    Workload workload(512, 8192, {"--hot-run", "64"});
    PrintLogger logger;
    ProjectConfig projectConfig = project(3);
    projectConfig.region.sampleIntervalUs = 5000;
    projectConfig.region.aggrIntervalUs = 100000;
    TaskConfig taskConfig;
    taskConfig.engine = "damon";
    taskConfig.damon.maxAccesses = 0;
    taskConfig.damon.minAge = 10;
    taskConfig.damon.action = "pageout";
    auto engine = damon::makeDamonEngine(EngineContext{projectConfig, taskConfig, {}, logger}, {});
    std::vector<Target> targets;
    targets.push_back(workload.target());
    const std::string kdamond = "/sys/kernel/mm/damon/admin/kdamonds/0";
    std::uint64_t swapped = 0, tried = 0;
    test::SwappedFractions fractions;
    for (int cycle = 0; cycle < 3 && fractions.cold < 0.95; ++cycle) {
        auto report = runCycle(*engine, targets, 3, std::chrono::seconds(1));
        printReport(report);
        EXPECT_EQ(report.error, "");
        EXPECT_EQ(report.swapper, "damos pageout");
        EXPECT_EQ(kdamondState(kdamond), "on");
        swapped += report.bytesSwapped;
        tried += report.extra.count("damos_sz_tried");
        fractions = workload.swappedFractions();
        std::printf(
            "FIGURE damon engine cycle %d: cold swapped %.4f, hot swapped %.4f, "
            "damos_sz_applied %llu, damos_nr_applied %llu, damos_qt_exceeds %llu\n",
            cycle + 1, fractions.cold, fractions.hot,
            static_cast<unsigned long long>(report.extra.count("damos_sz_applied")),
            static_cast<unsigned long long>(report.extra.count("damos_nr_applied")),
            static_cast<unsigned long long>(report.extra.count("damos_qt_exceeds")));
    }
    EXPECT_GE(fractions.cold, 0.90);
    EXPECT_LE(fractions.hot, 0.02);
    // Bytes swapped are what the process's VmSwap gained: the cold set, and little else of
    // the process (its heap, its stack); the scheme's tried bytes are the regions' spans.
    std::printf("FIGURE damon engine: bytes swapped %llu (cold set %llu), damos_sz_tried %llu\n",
                static_cast<unsigned long long>(swapped),
                static_cast<unsigned long long>(8192 * kPageSize),
                static_cast<unsigned long long>(tried));
    EXPECT_GE(swapped, std::uint64_t{8192} * kPageSize * 9 / 10);
    EXPECT_LE(swapped, std::uint64_t{8192 + 512} * kPageSize + (4 << 20));
    EXPECT_GE(tried, swapped);
    const auto started = std::chrono::steady_clock::now();
    engine.reset();
    const double stopMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    std::printf("FIGURE damon engine stop: %.1f ms\n", stopMs);
    EXPECT_EQ(kdamondState(kdamond), "off");
    EXPECT_LT(stopMs, 500.0);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

// max_swap_rate is the scheme's DAMOS quota: what leaves in a cycle stays under rate x time,
// and the quota's cuts show. (The scheme's sz_tried is not bounded so: on Debian's 6.12 it
// read 230 MB in a 3 s cycle at 2 MiB/s, a region's whole span counted, so it is only
// printed.)
TEST(DamonEngine, MaxSwapRateIsTheSchemesQuota) {
    auto probe = probeBackends();
    REQUIRE_FEATURE(probe.has("damon"), "damon_sysfs");
    REQUIRE_FEATURE(probe.swapActive, "swap");
    Workload workload(512, 8192, {"--hot-run", "64"});
    PrintLogger logger;
    ProjectConfig projectConfig = project(3);
    projectConfig.region.sampleIntervalUs = 5000;
    projectConfig.region.aggrIntervalUs = 100000;
    TaskConfig taskConfig;
    taskConfig.engine = "damon";
    taskConfig.damon.minAge = 10;
    taskConfig.slide.maxSwapRate = 2 << 20;
    auto engine = damon::makeDamonEngine(EngineContext{projectConfig, taskConfig, {}, logger}, {});
    std::vector<Target> targets;
    targets.push_back(workload.target());
    const auto started = std::chrono::steady_clock::now();
    auto report = runCycle(*engine, targets, 3, std::chrono::seconds(1));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    printReport(report);
    std::printf(
        "FIGURE damon engine quota 2 MiB/s: %.2f s, bytes swapped %llu, "
        "damos_sz_tried %llu, damos_qt_exceeds %llu\n",
        seconds, static_cast<unsigned long long>(report.bytesSwapped),
        static_cast<unsigned long long>(report.extra.count("damos_sz_tried")),
        static_cast<unsigned long long>(report.extra.count("damos_qt_exceeds")));
    EXPECT_EQ(report.error, "");
    // The quota bounds what leaves (DAMON may spend it on the process's idle libraries
    // first, so little of the workload may go).
    const auto bound = static_cast<std::uint64_t>((seconds + 1) * (2 << 20));
    EXPECT_GT(report.extra.count("damos_sz_tried"), 0u);
    EXPECT_LE(report.bytesSwapped, bound);
    EXPECT_GE(report.extra.count("damos_qt_exceeds"), 1u);
    EXPECT_TRUE(report.pacing.paced);
    EXPECT_EQ(report.pacing.rate, std::uint64_t{2} << 20);
    EXPECT_LE(workload.swappedFractions().hot, 0.02);
    engine.reset();
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}
