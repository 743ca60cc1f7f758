// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's gates as pure rules over /proc text, and Gates over a fake /proc tree.
#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "etmem/slide/gates.hpp"

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

constexpr std::string_view kMemInfo =
    "MemTotal:        1000000 kB\n"
    "MemFree:          300000 kB\n"
    "MemAvailable:     700000 kB\n"
    "Buffers:            1000 kB\n"
    "SwapCached:        80000 kB\n";

TEST(SlideGates, ParsesMemInfoAndStatus) {
    const auto memory = parseMemInfo(kMemInfo);
    ASSERT_TRUE(memory);
    EXPECT_EQ(memory->totalKb, 1000000u);
    EXPECT_EQ(memory->freeKb, 300000u);  // MemFree, not MemAvailable, as 1.1 reads
    EXPECT_EQ(memory->swapCachedKb, 80000u);
    EXPECT_FALSE(parseMemInfo("MemFree: 1 kB\n"));
    const auto process = parseProcessStatus("Name:\tx\nVmRSS:\t  2048 kB\nVmSwap:\t 1024 kB\n");
    ASSERT_TRUE(process);
    EXPECT_EQ(process->rssKb, 2048u);
    EXPECT_EQ(process->swapKb, 1024u);
    EXPECT_FALSE(parseProcessStatus("Name:\tkthreadd\n"));
}

TEST(SlideGates, SysmemThresholdSwapsOnlyBelowIt) {
    const MemInfo memory{1000, 300, 0};  // 30% free
    EXPECT_EQ(freePercent(memory), 30u);
    EXPECT_FALSE(systemAllowsSwap(memory, 30));
    EXPECT_TRUE(systemAllowsSwap(memory, 31));
    EXPECT_FALSE(systemAllowsSwap(memory, 0));  // 0: never swap
    EXPECT_TRUE(systemAllowsSwap(memory, 100));
    EXPECT_FALSE(systemAllowsSwap(MemInfo{1000, 1000, 0}, 100));
}

TEST(SlideGates, SwapThresholdLeavesSmallProcessesAlone) {
    EXPECT_FALSE(processAllowsSwap({1024, 0}, 1u << 20));  // 1 MiB resident, threshold 1 MiB
    EXPECT_TRUE(processAllowsSwap({1025, 0}, 1u << 20));
    EXPECT_FALSE(processAllowsSwap({1024 * 1024 * 9, 0}, 10ULL << 30));
}

TEST(SlideGates, DramPercentBudgetKeepsTheShareResident) {
    // 100 MiB resident, nothing swapped: keep 40 MiB, swap 60 MiB.
    EXPECT_EQ(dramSwapBudgetPages({102400, 0}, 40), 61440u * 1024 / kPageSize);
    // Already at 40% resident: nothing more.
    EXPECT_EQ(dramSwapBudgetPages({40960, 61440}, 40), 0u);
    EXPECT_EQ(dramSwapBudgetPages({30000, 70000}, 40), 0u);
    EXPECT_EQ(dramSwapBudgetPages({102400, 0}, 100), 0u);
    EXPECT_EQ(dramSwapBudgetPages({102400, 0}, 1), (102400u - 1024) * 1024 / kPageSize);
}

TEST(SlideGates, SwapCacheMarks) {
    const MemInfo memory{1000000, 0, 80000};  // 8% of RAM in the swap cache
    EXPECT_TRUE(swapCacheAboveHigh(memory, 7));
    EXPECT_FALSE(swapCacheAboveHigh(memory, 8));
    EXPECT_EQ(swapCacheExcessKb(memory, 5), 30000u);
    EXPECT_EQ(swapCacheExcessKb(memory, 9), 0u);
}

TEST(SlideGates, ColdestFirstKeepsTheLowestCountsWithinTheBudget) {
    std::vector<std::uint64_t> pagesByCount{3, 0, 4, 1};
    keepColdestFirst(pagesByCount, 5);
    EXPECT_EQ(pagesByCount, (std::vector<std::uint64_t>{3, 0, 2, 0}));
    std::vector<std::uint64_t> none{3, 4};
    keepColdestFirst(none, 0);
    EXPECT_EQ(none, (std::vector<std::uint64_t>{0, 0}));
    std::vector<std::uint64_t> all{3, 4};
    keepColdestFirst(all, kNoBudget);
    EXPECT_EQ(all, (std::vector<std::uint64_t>{3, 4}));
}

// Gates over a fake /proc: meminfo is ours; the target is this process, whose status and
// swap_pages come from the fake tree too.
class GatesOnFakeProc : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ =
            std::filesystem::temp_directory_path() / ("etmem-gates-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root_ / std::to_string(::getpid()));
        self_.pid = ::getpid();
        self_.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
        ASSERT_TRUE(self_.pidfd);
    }
    void TearDown() override { std::filesystem::remove_all(root_); }
    void write(const std::string& file, std::string_view text) {
        std::ofstream(root_ / file) << text;
    }
    Gates gates(GateSettings settings) {
        return Gates(settings, KernelPaths{root_, "/sys", "/run"});
    }

    std::filesystem::path root_;
    Target self_;
};

TEST_F(GatesOnFakeProc, SysmemHoldsAndReleases) {
    GateSettings settings;
    settings.sysmemThreshold = 50;
    write("meminfo", "MemTotal: 1000 kB\nMemFree: 600 kB\n");
    GateDecision held = gates(settings).forCycle();
    EXPECT_FALSE(held.swap);
    EXPECT_NE(held.note.find("60% of RAM is free"), std::string::npos) << held.note;
    EXPECT_TRUE(held.error.empty());
    write("meminfo", "MemTotal: 1000 kB\nMemFree: 400 kB\n");
    EXPECT_TRUE(gates(settings).forCycle().swap);
    EXPECT_TRUE(gates(GateSettings{}).forCycle().swap);
}

TEST_F(GatesOnFakeProc, SwapFlagSwapsNothingAndSaysWhy) {
    GateSettings settings;
    settings.swapFlag = true;
    GateDecision decision = gates(settings).forCycle();
    EXPECT_FALSE(decision.swap);
    EXPECT_NE(decision.error.find("etmem_scan"), std::string::npos) << decision.error;
    EXPECT_NE(decision.error.find("swaps nothing"), std::string::npos) << decision.error;
}

TEST_F(GatesOnFakeProc, TargetGatesReadItsStatus) {
    const std::string status = std::to_string(::getpid()) + "/status";
    write(status, "VmRSS:\t 4096 kB\nVmSwap:\t 0 kB\n");
    GateSettings small;
    small.swapThresholdBytes = 8ULL << 20;
    EXPECT_FALSE(gates(small).forTarget(self_).swap);
    small.swapThresholdBytes = 2ULL << 20;
    EXPECT_TRUE(gates(small).forTarget(self_).swap);
    GateSettings dram;
    dram.dramPercent = 25;
    GateDecision decision = gates(dram).forTarget(self_);
    EXPECT_TRUE(decision.swap);
    EXPECT_EQ(decision.budgetPages, 3072u * 1024 / kPageSize);
}

TEST_F(GatesOnFakeProc, SwapCacheAboveHighWithoutEtmemSwapIsReported) {
    GateSettings settings;
    settings.swapcacheHighWmark = 5;
    settings.swapcacheLowWmark = 2;
    write("meminfo", "MemTotal: 1000000 kB\nMemFree: 1 kB\nSwapCached: 40000 kB\n");
    EXPECT_EQ(gates(settings).afterSwap(self_), "");  // 4%: below the high mark
    write("meminfo", "MemTotal: 1000000 kB\nMemFree: 1 kB\nSwapCached: 60000 kB\n");
    const std::string why = gates(settings).afterSwap(self_);
    EXPECT_NE(why.find("6% of RAM, above swapcache_high_wmark 5%"), std::string::npos) << why;
    EXPECT_NE(why.find("etmem_swap"), std::string::npos) << why;
    EXPECT_NE(why.find("39.1 MiB above"), std::string::npos) << why;
}

}  // namespace
}  // namespace etmem::slide
