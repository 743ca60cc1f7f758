// SPDX-License-Identifier: MulanPSL-2.0
// Pacing logic (max_swap_rate, pressure_limit) on a simulated clock: the confirmed rate,
// the Senpai share, pausing and resuming, coldest-first order and what is held back.
#include "etmem/slide/pacing.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

using Clock = Pacer::Clock;
using namespace std::chrono_literals;

// A kernel that confirms a share of what it is asked, on a clock that moves only when the
// pacer sleeps (and by `swapCost` per swap call).
struct SimulatedKernel {
    Clock::time_point now = Clock::time_point{} + 1000s;
    double confirmShare = 1.0;
    Clock::duration swapCost = 0ms;
    std::vector<std::optional<double>> pressures;  // one per reading; the last repeats
    std::size_t readings = 0;
    std::vector<PageRange> asked;
    std::vector<std::pair<Clock::time_point, std::uint64_t>> confirmed;  // (when, bytes)

    PacedSwapIo io() {
        PacedSwapIo io;
        io.swap = [this](std::span<const PageRange> batch) {
            asked.insert(asked.end(), batch.begin(), batch.end());
            now += swapCost;
        };
        io.confirm = [this](std::span<const PageRange> batch) {
            std::uint64_t pages = 0;
            for (const auto& range : batch) pages += range.pages();
            auto got = static_cast<std::uint64_t>(static_cast<double>(pages) * confirmShare);
            confirmed.emplace_back(now, got * kPageSize);
            return got;
        };
        io.pressure = [this] {
            auto value = pressures.empty() ? std::nullopt
                                           : pressures[std::min(readings, pressures.size() - 1)];
            ++readings;
            return value;
        };
        io.sleep = [this](Clock::duration wait, std::stop_token) {
            now += wait;
            return true;
        };
        io.now = [this] { return now; };
        return io;
    }
};

std::vector<PageRange> pages(std::uint64_t count, std::uint64_t base = 0x10000000) {
    return {{base, base + count * kPageSize}};
}

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(Pacing, ConfirmedRateStaysUnderTheLimitInEveryWindow) {
    SimulatedKernel kernel;
    Pacer pacer({8 * kMiB, 0});
    pacer.begin(std::nullopt, kernel.now);
    PacingState state;
    const auto start = kernel.now;
    std::uint64_t done =
        swapOutPaced(pacer, pages(128 * kMiB / kPageSize), start + 10s, kernel.io(), {}, state);
    // 10 s at 8 MiB/s plus the bucket's tenth of a second.
    EXPECT_LE(done * kPageSize, std::uint64_t(8.1 * 10 * kMiB));
    EXPECT_GE(done * kPageSize, 79 * kMiB);
    for (auto window : {1s, 2s, 5s}) {
        for (const auto& [from, unused] : kernel.confirmed) {
            std::uint64_t bytes = 0;
            for (const auto& [when, got] : kernel.confirmed)
                if (when >= from && when < from + window) bytes += got;
            const double seconds = std::chrono::duration<double>(window).count();
            EXPECT_LE(bytes, (seconds + 0.1) * 8 * kMiB + kPageSize);
        }
    }
    EXPECT_TRUE(state.paced);
    EXPECT_FALSE(state.paused);
    EXPECT_EQ(state.heldBackPages, 128 * kMiB / kPageSize - done);
    EXPECT_NE(state.reason.find("max_swap_rate 8M/s"), std::string::npos) << state.reason;
    EXPECT_NE(state.reason.find("wait for the next cycle"), std::string::npos) << state.reason;
}

TEST(Pacing, ChargesWhatTheKernelConfirmedNotWhatWasAsked) {
    SimulatedKernel kernel;
    kernel.confirmShare = 0.5;  // half the pages are refused (shared, locked...)
    Pacer pacer({8 * kMiB, 0});
    pacer.begin(std::nullopt, kernel.now);
    PacingState state;
    std::uint64_t done =
        swapOutPaced(pacer, pages(128 * kMiB / kPageSize), kernel.now + 4s, kernel.io(), {}, state);
    std::uint64_t asked = 0;
    for (const auto& range : kernel.asked) asked += range.pages();
    // Charging confirmations lets twice as much be asked as a charge of the asked would.
    EXPECT_GE(asked * kPageSize, 60 * kMiB);
    EXPECT_LE(done * kPageSize, std::uint64_t(4.1 * 8 * kMiB));
    EXPECT_GE(done * kPageSize, 30 * kMiB);
}

TEST(Pacing, AllFitsWithinTheWindowIsNotPaced) {
    SimulatedKernel kernel;
    Pacer pacer({8 * kMiB, 0});
    pacer.begin(std::nullopt, kernel.now);
    PacingState state;
    EXPECT_EQ(swapOutPaced(pacer, pages(1024), kernel.now + 1s, kernel.io(), {}, state), 1024u);
    EXPECT_FALSE(state.paced);
    EXPECT_EQ(state.reason, "");
    EXPECT_EQ(state.rate, 8 * kMiB);
}

TEST(Pacing, GoesInTheGivenOrderColdestFirst) {
    SimulatedKernel kernel;
    Pacer pacer({64 * 1024, 0});
    pacer.begin(std::nullopt, kernel.now);
    // The caller orders by access count: the range at 0x3000... is the coldest.
    std::vector<PageRange> cold = {{0x30000000, 0x30000000 + 8 * kPageSize},
                                   {0x10000000, 0x10000000 + 64 * kPageSize}};
    PacingState state;
    swapOutPaced(pacer, cold, kernel.now + 1s, kernel.io(), {}, state);
    ASSERT_FALSE(kernel.asked.empty());
    EXPECT_EQ(kernel.asked.front().start, 0x30000000u);
    EXPECT_GT(state.heldBackPages, 0u);
}

TEST(Pacing, PressureAtTheLimitPausesAndBelowItScalesLikeSenpai) {
    EXPECT_DOUBLE_EQ(pressureShare(0.0, 10), 1.0);
    EXPECT_DOUBLE_EQ(pressureShare(2.5, 10), 0.75);
    EXPECT_DOUBLE_EQ(pressureShare(10, 10), 0.0);
    EXPECT_DOUBLE_EQ(pressureShare(40, 10), 0.0);
    EXPECT_DOUBLE_EQ(pressureShare(std::nullopt, 10), 1.0);
    EXPECT_DOUBLE_EQ(pressureShare(50, 0), 1.0);

    SimulatedKernel kernel;
    kernel.pressures = {12.0};
    Pacer pacer({0, 10});
    pacer.begin(12.0, kernel.now);
    PacingState state;
    EXPECT_EQ(swapOutPaced(pacer, pages(1000), kernel.now + 1s, kernel.io(), {}, state), 0u);
    EXPECT_TRUE(state.paused);
    EXPECT_TRUE(kernel.asked.empty());
    EXPECT_EQ(state.heldBackPages, 1000u);
    EXPECT_NE(state.reason.find("memory pressure 12.0% is at or above pressure_limit 10.0%"),
              std::string::npos)
        << state.reason;

    // Below the limit: (1 - 2.5/10) of the cycle's cold pages go, the coldest.
    SimulatedKernel calmer;
    calmer.pressures = {2.5};
    Pacer scaled({0, 10});
    scaled.begin(2.5, calmer.now);
    PacingState part;
    EXPECT_EQ(swapOutPaced(scaled, pages(1000), calmer.now + 1s, calmer.io(), {}, part), 750u);
    EXPECT_TRUE(part.paced);
    EXPECT_FALSE(part.paused);
    EXPECT_EQ(part.heldBackPages, 250u);
    EXPECT_NE(part.reason.find("scales swap-out to 75%"), std::string::npos) << part.reason;
}

TEST(Pacing, APauseBeforeTheScanSaysSo) {
    Pacer pacer({8 * kMiB, 10});
    pacer.updatePressure(30.0);
    ASSERT_TRUE(pacer.paused());
    PacingState state = pausedBeforeScan(pacer);
    EXPECT_TRUE(state.paced);
    EXPECT_TRUE(state.paused);
    EXPECT_EQ(state.rate, 0u);  // share 0: nothing may go
    EXPECT_NE(state.reason.find("memory pressure 30.0% is at or above pressure_limit 10.0%: "
                                "swap-out paused; not scanned this cycle"),
              std::string::npos)
        << state.reason;
    pacer.updatePressure(9.9);
    EXPECT_FALSE(pacer.paused());
}

TEST(Pacing, PressureRisingDuringTheActPausesWithinOneBatch) {
    SimulatedKernel kernel;
    kernel.pressures = {1.0, 1.0, 15.0};  // the third reading is above the limit
    Pacer pacer({0, 10});
    pacer.begin(1.0, kernel.now);
    PacingState state;
    std::uint64_t done = swapOutPaced(pacer, pages(100 * kMiB / kPageSize), kernel.now + 10s,
                                      kernel.io(), {}, state);
    EXPECT_EQ(done * kPageSize, 4 * kMiB);  // two 2 MiB batches, then the pause
    EXPECT_TRUE(state.paused);
}

TEST(Pacing, RateAndPressureTogetherScaleTheRate) {
    SimulatedKernel kernel;
    kernel.pressures = {5.0};
    Pacer pacer({8 * kMiB, 10});
    pacer.begin(5.0, kernel.now);
    EXPECT_EQ(pacer.currentRate(), 4 * kMiB);
    PacingState state;
    std::uint64_t done =
        swapOutPaced(pacer, pages(128 * kMiB / kPageSize), kernel.now + 2s, kernel.io(), {}, state);
    EXPECT_LE(done * kPageSize, std::uint64_t(2.1 * 4 * kMiB));
    EXPECT_EQ(state.rate, 4 * kMiB);
}

TEST(Pacing, StopEndsTheActAtOnce) {
    SimulatedKernel kernel;
    Pacer pacer({8 * kMiB, 0});
    pacer.begin(std::nullopt, kernel.now);
    std::stop_source stop;
    stop.request_stop();
    PacingState state;
    EXPECT_EQ(
        swapOutPaced(pacer, pages(1024), kernel.now + 10s, kernel.io(), stop.get_token(), state),
        0u);
}

TEST(Pacing, JournalLinesOnlyWhenPacingStartsOrEnds) {
    PacingState calm, paced, paused;
    paced.paced = true;
    paced.reason = "max_swap_rate 8M/s: 3 cold pages wait for the next cycle";
    paused.paced = paused.paused = true;
    paused.reason = "memory pressure 12.0% is at or above pressure_limit 10.0%: swap-out paused";
    EXPECT_FALSE(pacingChange(calm, calm));
    EXPECT_FALSE(pacingChange(paced, paced));
    EXPECT_EQ(*pacingChange(calm, paced), "swap-out is paced: " + paced.reason);
    EXPECT_EQ(*pacingChange(paced, paused), paused.reason);
    EXPECT_EQ(*pacingChange(paused, calm), "swap-out is no longer paced");
    // Paused, then an act that swapped before pausing again: it resumed, and says so.
    EXPECT_FALSE(pacingChange(paused, paused, false));
    EXPECT_EQ(*pacingChange(paused, paused, true),
              "swap-out resumed, then paused again: " + paused.reason);
}

TEST(Pacing, PsiIsReadFromTheCgroupOrTheSystem) {
    EXPECT_EQ(parsePsiSomeAvg10("some avg10=12.34 avg60=1.00 avg300=0.00 total=123\n"
                                "full avg10=1.00 avg60=0.00 avg300=0.00 total=1\n"),
              12.34);
    EXPECT_FALSE(parsePsiSomeAvg10("full avg10=1.00 avg60=0.00"));
    EXPECT_FALSE(parsePsiSomeAvg10(""));
    EXPECT_EQ(pressureFileFor("system.slice/a.service", "/sys/fs/cgroup", "/proc"),
              "/sys/fs/cgroup/system.slice/a.service/memory.pressure");
    EXPECT_EQ(pressureFileFor("", "/sys/fs/cgroup", "/proc"), "/proc/pressure/memory");
    // The host's own PSI, when its kernel has it, parses.
    if (std::filesystem::exists("/proc/pressure/memory")) {
        EXPECT_TRUE(readPressure("/proc/pressure/memory").has_value());
    }
    EXPECT_FALSE(readPressure("/nonexistent/memory.pressure"));
}

TEST(Pacing, SizesAreWrittenAsTheConfigReadsThem) {
    EXPECT_EQ(formatSize(8 * kMiB), "8M");
    EXPECT_EQ(formatSize(512 * 1024), "512K");
    EXPECT_EQ(formatSize(4097), "4097");
    EXPECT_EQ(formatSize(std::uint64_t{1} << 30), "1G");
}

}  // namespace
}  // namespace etmem::slide
