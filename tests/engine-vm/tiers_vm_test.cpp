// SPDX-License-Identifier: MulanPSL-2.0
// etmem's memory tiering on a guest with two memory nodes (tests/vm/etmem-vm-run --topology
// tiered: node 0 with the CPUs, node 1 CPU-less and slower by HMAT, in a lower kernel tier).
// Placement is judged by asking the kernel where each of the workload's pages is (move_pages
// with no target nodes), never by what etmem reports; values by the workload's own checksums.
// Each test prints FIGURE lines. Outside such a guest the tests are skipped; inside one
// (ETMEM_VM_TOPOLOGY=tiered) a missing tier is a failure.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/memory_tiers.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "guest_numa.hpp"
#include "workload_client.hpp"

using namespace etmem;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFastNode = 0;
constexpr int kSlowNode = 1;

bool tieredGuestPromised() {
    const char* topology = std::getenv("ETMEM_VM_TOPOLOGY");
    return topology != nullptr && std::string(topology) == "tiered";
}

#define REQUIRE_TIERS()                                                                         \
    do {                                                                                        \
        auto tiers = kernel::discoverMemoryTiers({});                                           \
        bool present = tiers.kernelTiers && tiers.slower(kSlowNode, kFastNode);                 \
        if (!present && tieredGuestPromised())                                                  \
            FAIL() << "booted tiered, but the kernel shows: " << tiers.describe();              \
        if (!present) GTEST_SKIP() << "no slower node 1 here (etmem-vm-run --topology tiered)"; \
    } while (false)

std::string workloadPath() {
    const char* path = std::getenv("ETMEM_WORKLOAD");
    return path ? path : "etmem-workload";
}

class Workload : public test::WorkloadProcess {
  public:
    Workload(std::size_t hot, std::size_t cold) : WorkloadProcess(options(hot, cold)) {}

  private:
    static test::WorkloadOptions options(std::size_t hot, std::size_t cold) {
        test::WorkloadOptions options;
        options.program = workloadPath();
        options.hotPages = hot;
        options.coldPages = cold;
        options.seed = 11;
        return options;
    }
};

// Where the workload's hot and cold pages are, by asking the kernel.
struct Placement {
    std::size_t hot = 0, hotOnFast = 0, cold = 0, coldOnSlow = 0;
    double hotFast() const { return hot ? double(hotOnFast) / double(hot) : 1; }
    double coldSlow() const { return cold ? double(coldOnSlow) / double(cold) : 1; }
};
Placement placementOf(const Workload& workload) {
    auto nodes = vm::pageNodes(workload.pid(), workload.base, workload.pages);
    Placement placement;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (workload.isHot(i)) {
            ++placement.hot;
            placement.hotOnFast += nodes[i] == kFastNode;
        } else {
            ++placement.cold;
            placement.coldOnSlow += nodes[i] == kSlowNode;
        }
    }
    std::printf("FIGURE placement hot_on_node0=%.2f%% cold_on_node1=%.2f%% (%zu hot, %zu cold)\n",
                100 * placement.hotFast(), 100 * placement.coldSlow(), placement.hot,
                placement.cold);
    return placement;
}

// The workload's cold pages as ranges (runs of consecutive cold pages).
std::vector<kernel::PageRange> coldRanges(const Workload& workload) {
    std::vector<kernel::PageRange> ranges;
    for (std::size_t i = 0; i < workload.pages; ++i) {
        if (workload.isHot(i)) continue;
        std::uint64_t at = workload.base + i * kernel::kPageSize;
        if (!ranges.empty() && ranges.back().end == at)
            ranges.back().end += kernel::kPageSize;
        else
            ranges.push_back({at, at + kernel::kPageSize});
    }
    return ranges;
}

std::unique_ptr<movers::Mover> nodeMover(int node) {
    movers::MoverConfig config;
    config.destination = movers::Destination::numaNode(node);
    std::string why;
    auto mover = movers::makeMover(config, backends::probeBackends(), why);
    EXPECT_NE(mover, nullptr) << why;
    return mover;
}

// A sysctl for one test, put back afterwards.
class ScopedSysctl {
  public:
    ScopedSysctl(std::string path, const std::string& value) : path_(std::move(path)) {
        std::ifstream(path_) >> saved_;
        std::ofstream(path_) << value;
    }
    ScopedSysctl(const ScopedSysctl&) = delete;
    ScopedSysctl& operator=(const ScopedSysctl&) = delete;
    ~ScopedSysctl() { std::ofstream(path_) << saved_; }

  private:
    std::string path_;
    std::string saved_;
};

class PrintLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext&, std::string_view message) override {
        std::lock_guard lock(mutex_);
        std::printf("[engine %d] %.*s\n", static_cast<int>(level), static_cast<int>(message.size()),
                    message.data());
    }

  private:
    std::mutex mutex_;
};

// Reports the workload's hot pages as written in every round: the policy under test, apart
// from any scanner's precision. `hot` can be changed between cycles.
class LayoutScanner final : public backends::AccessScanner {
  public:
    explicit LayoutScanner(const Workload& workload) : workload_(workload) {}
    std::string_view name() const override { return "layout"; }
    std::unique_ptr<backends::ScanSession> watch(const Target&, std::span<const kernel::Vma>,
                                                 std::stop_token) override {
        return std::make_unique<Session>(workload_);
    }

  private:
    class Session final : public backends::ScanSession {
      public:
        explicit Session(const Workload& workload) : workload_(workload) {}
        void round(std::stop_token, backends::AccessSink& sink) override {
            for (std::size_t i = 0; i < workload_.pages; ++i)
                if (workload_.isHot(i))
                    sink.record(workload_.base + i * kernel::kPageSize, 1,
                                kernel::PageAccess::Written);
        }

      private:
        const Workload& workload_;
    };
    const Workload& workload_;
};

// A slide task whose cold pages go to node 1, over one workload; cycles run as the scheduler
// runs them (beginCycle, `loop` scans `interval` apart, act).
class TierTask {
  public:
    TierTask(const Workload& workload, slide::SlideOptions options, unsigned loop,
             unsigned threshold, std::chrono::milliseconds interval,
             const std::function<void(slide::SlideSettings&)>& tune = {})
        : interval_(interval) {
        project_.loop = loop;
        project_.interval = static_cast<unsigned>(std::max<long long>(1, interval.count() / 1000));
        task_.slide.T = threshold;
        task_.slide.coldNode = kSlowNode;
        if (tune) tune(task_.slide);
        engine_ =
            slide::makeSlideEngine(EngineContext{project_, task_, {}, logger_}, std::move(options));
        targets_.push_back(workload.target());
    }
    void scanRounds() {
        engine_->beginCycle(targets_, std::stop_token{});
        for (unsigned i = 0; i < project_.loop; ++i) {
            std::this_thread::sleep_for(interval_);
            engine_->scan(std::stop_token{});
        }
    }
    CycleReport act(std::stop_token stop = {}) {
        auto report = engine_->act(stop);
        std::printf(
            "cycle: hot %llu cold %llu demoted %llu promoted %llu swapped %llu node0 %llu "
            "node1 %llu rate %llu B/s error '%s'\n",
            static_cast<unsigned long long>(report.pagesHot),
            static_cast<unsigned long long>(report.pagesCold),
            static_cast<unsigned long long>(report.extra.count("pages_demoted")),
            static_cast<unsigned long long>(report.extra.count("pages_promoted")),
            static_cast<unsigned long long>(report.pagesSwapped),
            static_cast<unsigned long long>(report.extra.count("pages_node0")),
            static_cast<unsigned long long>(report.extra.count("pages_node1")),
            static_cast<unsigned long long>(report.extra.count("migrate_bytes_per_second")),
            report.error.c_str());
        return report;
    }
    CycleReport cycle() {
        scanRounds();
        return act();
    }
    const ProjectConfig& project() const { return project_; }

  private:
    ProjectConfig project_;
    TaskConfig task_;
    PrintLogger logger_;
    std::chrono::milliseconds interval_;
    std::unique_ptr<TaskEngine> engine_;
    std::vector<Target> targets_;
};

std::uint64_t pagesMoved(const CycleReport& report) {
    return report.extra.count("pages_demoted") + report.extra.count("pages_promoted") +
           report.pagesSwapped;
}

slide::SlideOptions layoutOptions(const Workload& workload) {
    slide::SlideOptions options;
    options.scannerOverride = std::make_shared<LayoutScanner>(workload);
    return options;
}

// Moves the workload's hot pages to node 1 behind etmem's back: a hot set that was cold.
void demoteHotPages(const Workload& workload) {
    std::vector<void*> pages;
    for (std::size_t i = 0; i < workload.pages; ++i)
        if (workload.isHot(i))
            pages.push_back(reinterpret_cast<void*>(workload.base + i * kernel::kPageSize));
    std::vector<int> nodes(pages.size(), kSlowNode), status(pages.size());
    ASSERT_EQ(vm::movePages(workload.pid(), pages.size(), pages.data(), nodes.data(), status.data(),
                            vm::kMoveOwnPages),
              0);
}

}  // namespace

TEST(TiersNodeMover, ColdPagesGoToTheSlowNodeAndTheKernelConfirmsThem) {
    REQUIRE_TIERS();
    Workload workload(512, 8192);
    auto mover = nodeMover(kSlowNode);
    ASSERT_NE(mover, nullptr);
    ASSERT_EQ(mover->unavailable(), "");
    auto target = workload.target();
    movers::MoveTarget moveTarget{target, -1};
    auto ranges = coldRanges(workload);
    mover->move(moveTarget, ranges, std::stop_token{});
    std::uint64_t confirmed = mover->confirm(moveTarget, ranges, std::stop_token{});
    auto placement = placementOf(workload);
    EXPECT_GE(placement.coldSlow(), 0.99);
    EXPECT_GE(placement.hotFast(), 0.99) << "the mover moved pages it was not given";
    EXPECT_EQ(confirmed, placement.coldOnSlow) << "the mover's count differs from the kernel's";
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// The mover checks its stop token between calls of at most kMaxPagesPerMoveCall pages: a stop
// in the middle of moving 256 MiB ends the move within about 100 ms.
TEST(TiersNodeMover, AStopMidMigrationEndsTheMoveWithin100Ms) {
    REQUIRE_TIERS();
    Workload workload(0, 65536);
    auto mover = nodeMover(kSlowNode);
    ASSERT_NE(mover, nullptr);
    auto target = workload.target();
    movers::MoveTarget moveTarget{target, -1};
    std::vector<kernel::PageRange> all{
        {workload.base, workload.base + workload.pages * kernel::kPageSize}};
    std::stop_source stop;
    Clock::time_point returned;
    auto started = Clock::now();
    std::thread moving([&] {
        mover->move(moveTarget, all, stop.get_token());
        returned = Clock::now();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto requested = Clock::now();
    stop.request_stop();
    moving.join();
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(returned - requested);
    auto moved = vm::pageNodes(workload.pid(), workload.base, workload.pages);
    auto onSlow = std::count(moved.begin(), moved.end(), kSlowNode);
    std::printf(
        "FIGURE stop_latency_ms=%lld pages_moved_before_stop=%lld of %zu (%lld ms moving)\n",
        static_cast<long long>(latency.count()), static_cast<long long>(onSlow), workload.pages,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(requested - started).count()));
    EXPECT_LT(static_cast<std::size_t>(onSlow), workload.pages) << "finished before the stop";
    EXPECT_LE(latency.count(), 100);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// The policy with an exact scanner: after one cycle the cold set is on node 1 and the hot set
// on node 0; at steady state cycles move (almost) nothing; a hot set found on node 1 comes
// back within two cycles; every value holds.
TEST(TiersSlide, ColdGoesDownHotStaysSteadyStateIsQuietAndHotComesBack) {
    REQUIRE_TIERS();
    ScopedSysctl noAutoBalancing("/proc/sys/kernel/numa_balancing", "0");
    Workload workload(1024, 16384);
    TierTask task(workload, layoutOptions(workload), 2, 2, std::chrono::milliseconds(200));
    auto first = task.cycle();
    EXPECT_EQ(first.error, "");
    auto placement = placementOf(workload);
    EXPECT_GE(placement.hotFast(), 0.99);
    EXPECT_GE(placement.coldSlow(), 0.95);
    EXPECT_GE(first.extra.count("pages_demoted"), 16384u * 95 / 100);

    const std::uint64_t resident = workload.pages;
    for (int cycle = 1; cycle <= 3; ++cycle) {
        auto report = task.cycle();
        std::printf("FIGURE steady_cycle=%d pages_moved=%llu resident=%llu (%.2f%%)\n", cycle,
                    static_cast<unsigned long long>(pagesMoved(report)),
                    static_cast<unsigned long long>(resident),
                    100.0 * double(pagesMoved(report)) / double(resident));
        EXPECT_LE(pagesMoved(report) * 100, resident) << "steady state moved over 1% of resident";
    }

    demoteHotPages(workload);
    EXPECT_LE(placementOf(workload).hotFast(), 0.01);
    int cycles = 0;
    while (cycles < 2 && placementOf(workload).hotFast() < 0.99) {
        task.cycle();
        ++cycles;
    }
    placement = placementOf(workload);
    std::printf("FIGURE hot_set_back_on_node0_after_cycles=%d hot_on_node0=%.2f%%\n", cycles,
                100 * placement.hotFast());
    EXPECT_GE(placement.hotFast(), 0.99) << "the hot set did not come back within two cycles";
    EXPECT_GE(placement.coldSlow(), 0.95);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// The same with the kernel's access scanner on Debian's kernel (DAMON, with soft-dirty for
// writes): T = 4 over 3 rounds keeps what was written (see engine_vm_test's DAMON test).
TEST(TiersSlide, WithDamonTheHotSetStaysOnNode0AndTheColdGoesToNode1) {
    REQUIRE_TIERS();
    if (!backends::probeBackends().has("damon")) GTEST_SKIP() << "no DAMON here";
    ScopedSysctl noAutoBalancing("/proc/sys/kernel/numa_balancing", "0");
    Workload workload(512, 8192);
    slide::SlideOptions options;
    options.scanner = backends::parseScannerChoice("damon");
    TierTask task(workload, std::move(options), 3, 4, std::chrono::seconds(1));
    for (int cycle = 0; cycle < 2; ++cycle) EXPECT_EQ(task.cycle().error, "");
    auto placement = placementOf(workload);
    EXPECT_GE(placement.hotFast(), 0.99);
    EXPECT_GE(placement.coldSlow(), 0.95);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// max_migrate_rate: with more cold pages than a window's worth, the pages demoted in one act
// over the act's time hold the rate within 10%.
TEST(TiersSlide, MaxMigrateRateHoldsWithinTenPercent) {
    REQUIRE_TIERS();
    ScopedSysctl noAutoBalancing("/proc/sys/kernel/numa_balancing", "0");
    constexpr std::uint64_t kRate = 8ULL << 20;  // 8 MiB/s; a 2 s window: 16 of 64 MiB
    Workload workload(256, 16384);
    TierTask task(workload, layoutOptions(workload), 1, 2, std::chrono::milliseconds(2000),
                  [&](slide::SlideSettings& settings) { settings.maxMigrateRate = kRate; });
    task.scanRounds();
    auto started = Clock::now();
    auto report = task.act();
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    auto onSlow = placementOf(workload).coldOnSlow;
    double rate = double(onSlow * kernel::kPageSize) / seconds;
    std::printf("FIGURE max_migrate_rate=%llu measured=%.0f B/s (%.1f%%) act=%.2fs reported=%llu\n",
                static_cast<unsigned long long>(kRate), rate, 100 * rate / double(kRate), seconds,
                static_cast<unsigned long long>(report.extra.count("migrate_bytes_per_second")));
    EXPECT_LT(onSlow, 16384u) << "everything moved: the rate did not bind";
    EXPECT_LE(rate, kRate * 1.10);
    EXPECT_GE(rate, kRate * 0.90);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// A stop requested while act() is moving 256 MiB ends it within about 100 ms.
TEST(TiersSlide, AStopMidMigrationEndsTheActWithin100Ms) {
    REQUIRE_TIERS();
    ScopedSysctl noAutoBalancing("/proc/sys/kernel/numa_balancing", "0");
    Workload workload(0, 65536);
    TierTask task(workload, layoutOptions(workload), 1, 2, std::chrono::milliseconds(100));
    task.scanRounds();
    std::stop_source stop;
    Clock::time_point returned;
    std::thread acting([&] {
        task.act(stop.get_token());
        returned = Clock::now();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto requested = Clock::now();
    stop.request_stop();
    acting.join();
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(returned - requested);
    auto onSlow = placementOf(workload).coldOnSlow;
    std::printf("FIGURE act_stop_latency_ms=%lld pages_moved_before_stop=%zu of %zu\n",
                static_cast<long long>(latency.count()), onSlow, workload.pages);
    EXPECT_LT(onSlow, workload.pages) << "the act ended before the stop: nothing was tested";
    EXPECT_LE(latency.count(), 100);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// The chain: cold pages go to node 1 first, and on to swap once cold for then_swap_after
// further cycles; the hot set stays on node 0. Needs an active swap device.
TEST(TiersSlide, TheChainSendsPagesColdLongerOnToSwap) {
    REQUIRE_TIERS();
    if (!backends::probeBackends().swapActive) GTEST_SKIP() << "no active swap device";
    ScopedSysctl noAutoBalancing("/proc/sys/kernel/numa_balancing", "0");
    Workload workload(512, 8192);
    TierTask task(workload, layoutOptions(workload), 1, 2, std::chrono::milliseconds(200),
                  [](slide::SlideSettings& settings) { settings.thenSwapAfter = 1; });
    task.cycle();
    auto placement = placementOf(workload);
    EXPECT_GE(placement.coldSlow(), 0.95) << "first the slow node";
    EXPECT_LE(workload.swappedFractions().cold, 0.05) << "not swap at once";
    task.cycle();
    auto swapped = workload.swappedFractions();
    placement = placementOf(workload);
    std::printf("FIGURE chain cold_swapped=%.2f%% hot_swapped=%.2f%%\n", 100 * swapped.cold,
                100 * swapped.hot);
    EXPECT_GE(swapped.cold, 0.95);
    EXPECT_LE(swapped.hot, 0.01);
    EXPECT_GE(placement.hotFast(), 0.99);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}
