// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's gates on a real kernel, run as root in a test guest: sysmem_threshold holds
// swapping off while MemFree is above it and lets it run once a balloon brings MemFree below;
// swap_threshold leaves a small target untouched; dram_percent 40 leaves 40% (+-5 points) of
// the target resident, the coldest pages gone (zram swap). The swap-cache marks need a swap
// device that goes through the swap cache (loop-swap; zram bypasses it): the target's own
// swap-cached pages leave the cache with its next swap-out, and where another process's
// pages hold the cache above the high mark, LastError says etmem_swap is needed (mainline).
// Each test prints FIGURE lines.
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "etmem/kernel/pagemap.hpp"
#include "etmem/slide/gates.hpp"
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

test::WorkloadProcess startWorkload(std::size_t hot, std::size_t cold) {
    test::WorkloadOptions options;
    options.program = workloadPath();
    options.hotPages = hot;
    options.coldPages = cold;
    options.seed = 7;
    return test::WorkloadProcess(options);
}

class PrintLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext& context, std::string_view message) override {
        std::lock_guard lock(mutex_);
        std::printf("[engine %d pid %d] %.*s\n", static_cast<int>(level), context.pid,
                    static_cast<int>(message.size()), message.data());
        text += std::string(message) + "\n";
    }
    std::string text;

  private:
    std::mutex mutex_;
};

// What the workload does, as the scanner would see it: hot pages written every round, and
// the "warm" cold pages (every fourth) read once per round — cold at T = 3, but less cold
// than the pages nobody touches.
class TieredScanner final : public AccessScanner {
  public:
    explicit TieredScanner(const test::WorkloadProcess& workload) : workload_(workload) {}
    std::string_view name() const override { return "tiered"; }
    std::unique_ptr<ScanSession> watch(const Target&, std::span<const Vma>,
                                       std::stop_token) override {
        return std::make_unique<Session>(workload_);
    }
    static bool isWarm(const test::WorkloadProcess& workload, std::size_t i) {
        return !workload.isHot(i) && i % 4 == 1;
    }

  private:
    class Session final : public ScanSession {
      public:
        explicit Session(const test::WorkloadProcess& workload) : workload_(workload) {}
        void round(std::stop_token, AccessSink& sink) override {
            for (std::size_t i = 0; i < workload_.pages; ++i) {
                const std::uint64_t address = workload_.base + i * kPageSize;
                if (workload_.isHot(i)) sink.record(address, 1, PageAccess::Written);
                if (isWarm(workload_, i)) sink.record(address, 1, PageAccess::Read);
            }
        }

      private:
        const test::WorkloadProcess& workload_;
    };
    const test::WorkloadProcess& workload_;
};

// One cycle (loop 1, T 3) of a slide engine with the given gate keys over the workload.
CycleReport runCycle(const test::WorkloadProcess& workload, ProjectConfig project, TaskConfig task,
                     PrintLogger& logger) {
    project.loop = 1;
    task.slide.T = 3;
    SlideOptions options;
    options.scannerOverride = std::make_shared<TieredScanner>(workload);
    options.swapper = parseSwapperChoice("madvise");
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, std::move(options));
    std::vector<Target> targets;
    targets.push_back(workload.target());
    engine->beginCycle(targets, std::stop_token{});
    engine->scan(std::stop_token{});
    CycleReport report = engine->act(std::stop_token{});
    std::printf("swapped %llu of %llu cold pages; error '%s'\n",
                static_cast<unsigned long long>(report.pagesSwapped),
                static_cast<unsigned long long>(report.pagesCold), report.error.c_str());
    return report;
}

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

MemInfo memInfo() {
    return parseMemInfo(readFile("/proc/meminfo")).value();
}

ProcessMemory processMemory(pid_t pid) {
    return parseProcessStatus(readFile("/proc/" + std::to_string(pid) + "/status")).value();
}

void requireSwap() {
    const BackendProbe probe = probeBackends();
    if (!probe.swapActive || !probe.has("madvise"))
        FAIL() << "this test needs an active swap and process_madvise (the guest promises both)";
}

// A child that holds `bytes` of written anonymous memory until killed.
class Balloon {
  public:
    explicit Balloon(std::size_t bytes) {
        int ready[2];
        if (::pipe(ready) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            void* block = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
            if (block != MAP_FAILED) std::memset(block, 0x5A, bytes);
            char done = block == MAP_FAILED ? 'n' : 'y';
            (void)!::write(ready[1], &done, 1);
            ::pause();
            ::_exit(0);
        }
        ::close(ready[1]);
        char done = 'n';
        (void)!::read(ready[0], &done, 1);
        ::close(ready[0]);
        if (done != 'y') throw std::runtime_error("the balloon could not allocate");
    }
    ~Balloon() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

  private:
    pid_t pid_ = 0;
};

}  // namespace

TEST(GatesVm, SysmemThresholdHoldsSwappingWhileFreeMemoryIsAboveIt) {
    requireSwap();
    auto workload = startWorkload(64, 4096);
    PrintLogger logger;
    const MemInfo before = memInfo();
    const unsigned freeNow = freePercent(before);
    ASSERT_GE(freeNow, 40u) << "the guest needs room for the balloon";
    // The threshold sits 20 points below what is free: swapping must hold off.
    ProjectConfig project;
    project.sysmemThreshold = freeNow - 20;
    CycleReport held = runCycle(workload, project, TaskConfig{}, logger);
    const auto heldFractions = workload.swappedFractions();
    std::printf("FIGURE sysmem: MemFree %u%% of RAM, threshold %u%%: cold swapped %.4f\n", freeNow,
                *project.sysmemThreshold, heldFractions.cold);
    EXPECT_EQ(held.pagesSwapped, 0u);
    EXPECT_EQ(heldFractions.cold, 0.0);
    EXPECT_GE(held.pagesCold, 4096u);
    EXPECT_NE(logger.text.find("not below"), std::string::npos) << logger.text;

    // A balloon takes 30 points of RAM: MemFree falls below the threshold and swapping runs.
    Balloon balloon(static_cast<std::size_t>(before.totalKb) * 1024 * 30 / 100);
    const unsigned freeLater = freePercent(memInfo());
    ASSERT_LT(freeLater, *project.sysmemThreshold) << "the balloon did not use enough memory";
    CycleReport ran = runCycle(workload, project, TaskConfig{}, logger);
    const auto ranFractions = workload.swappedFractions();
    std::printf("FIGURE sysmem: MemFree %u%% of RAM, threshold %u%%: cold swapped %.4f\n",
                freeLater, *project.sysmemThreshold, ranFractions.cold);
    EXPECT_GE(ranFractions.cold, 0.95);
    EXPECT_LE(ranFractions.hot, 0.02);
    EXPECT_GT(ran.pagesSwapped, 0u);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

TEST(GatesVm, SwapThresholdLeavesASmallTargetUntouched) {
    requireSwap();
    auto workload = startWorkload(64, 4096);  // about 17 MiB of its own, plus the program
    PrintLogger logger;
    TaskConfig small;
    small.slide.swapThresholdBytes = 1ULL << 30;  // 1g: the target is far below it
    CycleReport left = runCycle(workload, ProjectConfig{}, small, logger);
    const ProcessMemory memory = processMemory(workload.pid());
    std::printf("FIGURE swap_threshold 1g: VmRSS %llu kB, VmSwap %llu kB, swapped %llu\n",
                static_cast<unsigned long long>(memory.rssKb),
                static_cast<unsigned long long>(memory.swapKb),
                static_cast<unsigned long long>(left.pagesSwapped));
    EXPECT_EQ(left.pagesSwapped, 0u);
    EXPECT_EQ(workload.swappedFractions().cold, 0.0);
    EXPECT_EQ(memory.swapKb, 0u);

    // The same target above a 4m threshold is swapped: the gate, not the setup, held it.
    TaskConfig large;
    large.slide.swapThresholdBytes = 4ULL << 20;
    runCycle(workload, ProjectConfig{}, large, logger);
    const double cold = workload.swappedFractions().cold;
    std::printf("FIGURE swap_threshold 4m: cold swapped %.4f\n", cold);
    EXPECT_GE(cold, 0.95);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

TEST(GatesVm, DramPercentKeepsFortyPercentResidentAndTheColdestGo) {
    requireSwap();
    auto workload = startWorkload(256, 8192);
    PrintLogger logger;
    TaskConfig task;
    task.slide.dramPercent = 40;
    const ProcessMemory before = processMemory(workload.pid());
    runCycle(workload, ProjectConfig{}, task, logger);
    const ProcessMemory after = processMemory(workload.pid());
    const double resident =
        static_cast<double>(after.rssKb) / static_cast<double>(after.rssKb + after.swapKb);
    // Which pages went: the untouched ones first; warm (read) and hot (written) ones stay.
    const auto entries = workload.entries();
    std::size_t coldest = 0, coldestOut = 0, warm = 0, warmOut = 0, hotOut = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const bool out = entries[i].swapped();
        if (workload.isHot(i)) {
            hotOut += out;
        } else if (TieredScanner::isWarm(workload, i)) {
            ++warm;
            warmOut += out;
        } else {
            ++coldest;
            coldestOut += out;
        }
    }
    std::printf(
        "FIGURE dram_percent 40: before VmRSS %llu kB VmSwap %llu kB; after VmRSS %llu kB "
        "VmSwap %llu kB: %.1f%% resident; untouched swapped %zu/%zu, warm swapped %zu/%zu, "
        "hot swapped %zu\n",
        static_cast<unsigned long long>(before.rssKb),
        static_cast<unsigned long long>(before.swapKb),
        static_cast<unsigned long long>(after.rssKb), static_cast<unsigned long long>(after.swapKb),
        resident * 100, coldestOut, coldest, warmOut, warm, hotOut);
    EXPECT_NEAR(resident, 0.40, 0.05);
    EXPECT_LE(warmOut, warm / 50);
    EXPECT_EQ(hotOut, 0u);
    EXPECT_GT(coldestOut, coldest / 2);
    // A second cycle finds the share already kept and swaps nothing more.
    CycleReport again = runCycle(workload, ProjectConfig{}, task, logger);
    EXPECT_LE(again.pagesSwapped, 8192u / 100);
    EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
}

// Swaps the workload out and reads it back in: with a swap device of asynchronous I/O the
// pages come back through the swap cache and stay there, backed by their swap slots.
unsigned fillSwapCache(const test::WorkloadProcess& workload, PrintLogger& logger) {
    runCycle(workload, ProjectConfig{}, TaskConfig{}, logger);
    EXPECT_GE(workload.swappedFractions().cold, 0.95);
    std::vector<char> buffer(workload.pages * kPageSize);
    iovec local{buffer.data(), buffer.size()};
    iovec remote{reinterpret_cast<void*>(workload.base), buffer.size()};
    EXPECT_EQ(::process_vm_readv(workload.pid(), &local, 1, &remote, 1, 0),
              static_cast<ssize_t>(buffer.size()));
    const MemInfo memory = memInfo();
    const auto percent = static_cast<unsigned>(memory.swapCachedKb * 100 / memory.totalKb);
    std::printf("FIGURE swapcache: SwapCached %llu kB = %u%% of RAM after swap-in\n",
                static_cast<unsigned long long>(memory.swapCachedKb), percent);
    return percent;
}

double swapCachedPercent() {
    const MemInfo memory = memInfo();
    return 100.0 * static_cast<double>(memory.swapCachedKb) / static_cast<double>(memory.totalKb);
}

TEST(GatesVm, SwapCacheMarks) {
    requireSwap();
    const bool hasEtmemSwap = std::filesystem::exists("/proc/self/swap_pages");
    PrintLogger logger;
    // 1. The target's own pages fill the swap cache: its next swap-out frees them from it
    //    (MADV_PAGEOUT of a clean swap-cache page drops it), down below the low mark.
    {
        auto workload = startWorkload(64, 16384);  // 64 MiB cold
        const unsigned cached = fillSwapCache(workload, logger);
        ASSERT_GE(cached, 2u) << "the swap cache did not grow (a zram swap bypasses it)";
        ProjectConfig project;
        project.swapcacheHighWmark = cached;
        project.swapcacheLowWmark = 1;
        CycleReport report = runCycle(workload, project, TaskConfig{}, logger);
        std::printf(
            "FIGURE swapcache own: marks %u/1%%; after the cycle SwapCached %.2f%% of RAM; "
            "LastError '%s'\n",
            cached, swapCachedPercent(), report.error.c_str());
        EXPECT_LT(swapCachedPercent(), 1.0);
        EXPECT_EQ(workload.stop(), 0) << "a page's content changed";
    }
    // 2. Another process's pages fill it: the target's swap-out cannot free them, and
    //    without etmem_swap the marks cannot be enforced — LastError says so and by how much.
    auto bystander = startWorkload(64, 16384);
    const unsigned cached = fillSwapCache(bystander, logger);
    ASSERT_GE(cached, 3u) << "the swap cache did not grow (a zram swap bypasses it)";
    auto target = startWorkload(16, 1024);
    ProjectConfig project;
    project.swapcacheHighWmark = cached - 1;
    project.swapcacheLowWmark = 1;
    CycleReport report = runCycle(target, project, TaskConfig{}, logger);
    std::printf(
        "FIGURE swapcache other: marks %u/1%%; after the cycle SwapCached %.2f%% of RAM; "
        "etmem_swap %s; LastError '%s'\n",
        cached - 1, swapCachedPercent(), hasEtmemSwap ? "present" : "absent", report.error.c_str());
    if (!hasEtmemSwap) {
        EXPECT_NE(report.error.find("above swapcache_high_wmark"), std::string::npos)
            << report.error;
        EXPECT_NE(report.error.find("etmem_swap"), std::string::npos) << report.error;
    } else {
        EXPECT_LT(swapCachedPercent(), static_cast<double>(cached - 1));
    }
    EXPECT_EQ(target.stop(), 0) << "a page's content changed";
    EXPECT_EQ(bystander.stop(), 0) << "a page's content changed";
}
