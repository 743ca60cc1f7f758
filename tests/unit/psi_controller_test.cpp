// SPDX-License-Identifier: MulanPSL-2.0
// The psi controller on a simulated cgroup: a cold set nobody touches and a working set the
// workload touches every round. Reclaim takes cold pages first (the kernel's LRU); what it
// takes of the working set refaults in the next round, and the workload stalls in proportion.
#include "etmem/psi/psi_controller.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace etmem::psi {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kRoundUs = 6'000'000;  // 1.1's sample interval, 6 s

struct SimulatedCgroup {
    std::uint64_t cold = 0;     // resident cold bytes
    std::uint64_t working = 0;  // the working set's size (resident at the start of a round)
    std::uint64_t other = 0;    // unreclaimable
    std::optional<std::uint64_t> max{};
    // Stall per byte of the working set refaulted: 1 MiB refaulted stalls 10 ms.
    double stallUsPerByte = 10'000.0 / static_cast<double>(kMiB);
    std::uint64_t stallTotalUs = 0;
    std::uint64_t missingWorking = 0;

    std::uint64_t current() const { return cold + working - missingWorking + other; }
    CgroupReading reading() const { return {current(), max, stallTotalUs, 0}; }
    void reclaim(std::uint64_t bytes) {
        const std::uint64_t fromCold = std::min(bytes, cold);
        cold -= fromCold;
        missingWorking = std::min(working, missingWorking + (bytes - fromCold));
    }
    // One interval of the workload: it touches its working set and waits for what is gone.
    void run() {
        stallTotalUs +=
            static_cast<std::uint64_t>(static_cast<double>(missingWorking) * stallUsPerByte);
        missingWorking = 0;
    }
    // A new phase: `bytes` of the cold set join the working set (they were reclaimed if cold
    // is smaller now); the stall comes as they refault.
    void changePhase(std::uint64_t bytes, std::uint64_t coldAtStart) {
        const std::uint64_t reclaimedCold = coldAtStart - cold;
        const std::uint64_t refault = std::min(bytes, reclaimedCold);
        working += bytes;
        cold -= std::min(cold, bytes - refault);
        missingWorking += refault;
    }
};

struct Round {
    RoundDecision decision;
    std::uint64_t currentBefore;
};

std::vector<Round> runRounds(PsiController& controller, SimulatedCgroup& cgroup, int rounds) {
    std::vector<Round> trace;
    for (int i = 0; i < rounds; ++i) {
        const std::uint64_t before = cgroup.current();
        RoundDecision decision = controller.decide(cgroup.reading(), i == 0 ? 0 : kRoundUs);
        cgroup.reclaim(decision.reclaimBytes);
        controller.reclaimed(decision.reclaimBytes);
        trace.push_back({decision, before});
        cgroup.run();
    }
    return trace;
}

double meanPressure(const std::vector<Round>& trace, std::size_t from) {
    double sum = 0;
    for (std::size_t i = from; i < trace.size(); ++i) sum += trace[i].decision.pressure;
    return sum / static_cast<double>(trace.size() - from);
}

TEST(PsiController, FirstRoundOnlyTakesTheBaseline) {
    PsiController controller(PsiSettings{});
    const RoundDecision first = controller.decide({512 * kMiB, {}, 1000, 0.5}, 0);
    EXPECT_EQ(first.kind, RoundKind::Baseline);
    EXPECT_EQ(first.reclaimBytes, 0u);
    EXPECT_DOUBLE_EQ(first.pressure, 0.5);
}

TEST(PsiController, ConvergesOnTheColdSetWithoutHurtingTheWorkload) {
    SimulatedCgroup cgroup{.cold = 800 * kMiB, .working = 200 * kMiB};
    PsiController controller(PsiSettings{});
    const auto trace = runRounds(controller, cgroup, 120);
    // At least 80% of the cold set is gone within 40 rounds (4 minutes at 6 s).
    std::uint64_t reclaimedBy40 = 0;
    for (int i = 0; i < 40; ++i) reclaimedBy40 += trace[i].decision.reclaimBytes;
    EXPECT_GE(reclaimedBy40, 800 * kMiB * 8 / 10);
    EXPECT_LE(cgroup.cold, 800 * kMiB / 10);
    // Over the whole run the workload stalls no more than the goal on average.
    EXPECT_LE(meanPressure(trace, 1), PsiSettings{}.pressure);
}

TEST(PsiController, BacksOffInTheRoundAfterAPhaseChange) {
    SimulatedCgroup cgroup{.cold = 800 * kMiB, .working = 200 * kMiB};
    PsiController controller(PsiSettings{});
    runRounds(controller, cgroup, 30);
    // Half the old cold set becomes the working set: it refaults and stalls.
    cgroup.changePhase(300 * kMiB, 800 * kMiB);
    cgroup.run();
    const RoundDecision next = controller.decide(cgroup.reading(), kRoundUs);
    EXPECT_EQ(next.kind, RoundKind::BackOff);
    EXPECT_EQ(next.reclaimBytes, 0u);
    EXPECT_NE(next.why.find("over the goal"), std::string::npos) << next.why;
    // And it holds the round after, while the new working set settles.
    cgroup.run();
    const RoundDecision after = controller.decide(cgroup.reading(), kRoundUs);
    EXPECT_EQ(after.reclaimBytes, 0u);
}

TEST(PsiController, NeverCrossesItsLimits) {
    PsiSettings settings;
    settings.reclaimRate = 0.5;
    settings.reclaimRateMax = 1.0;
    settings.reclaimMaxBytes = 64 * kMiB;
    settings.limitMinBytes = 300 * kMiB;
    settings.limitMinRatio = 0.4;
    SimulatedCgroup cgroup{.cold = 2000 * kMiB, .working = 100 * kMiB, .max = 1000 * kMiB};
    PsiController controller(settings);
    const auto trace = runRounds(controller, cgroup, 200);
    const std::uint64_t floor = 400 * kMiB;  // 0.4 of memory.max, above limit_min_bytes
    for (const Round& round : trace) {
        EXPECT_LE(round.decision.reclaimBytes, settings.reclaimMaxBytes);
        EXPECT_EQ(round.decision.floor, floor);
        if (round.decision.reclaimBytes > 0) {
            EXPECT_GE(round.currentBefore - round.decision.reclaimBytes, floor);
        }
        EXPECT_GE(round.decision.rate, settings.reclaimRateMin);
        EXPECT_LE(round.decision.rate, settings.reclaimRateMax);
        EXPECT_EQ(round.decision.reclaimBytes % kPageBytes, 0u);
    }
    EXPECT_GE(cgroup.current(), floor);
    EXPECT_EQ(trace.back().decision.kind, RoundKind::AtFloor);
}

TEST(PsiController, FloorFollowsThePeakUseWithoutAMemoryMax) {
    PsiSettings settings;
    settings.limitMinRatio = 0.5;
    PsiController controller(settings);
    controller.decide({1000 * kMiB, {}, 0, 0}, 0);
    const RoundDecision next = controller.decide({600 * kMiB, {}, 0, 0}, kRoundUs);
    EXPECT_EQ(next.floor, 500 * kMiB);
    EXPECT_LE(next.reclaimBytes, 100 * kMiB);
}

TEST(PsiController, DoesNotOscillateOnceOnlyTheWorkingSetIsLeft) {
    // No cold set at all: every reclaim bites the working set.
    SimulatedCgroup cgroup{.cold = 0, .working = 1000 * kMiB};
    PsiController controller(PsiSettings{});
    const auto trace = runRounds(controller, cgroup, 300);
    int probes = 0, backOffs = 0;
    for (std::size_t i = 100; i < trace.size(); ++i) {
        probes += trace[i].decision.reclaimBytes > 0;
        backOffs += trace[i].decision.kind == RoundKind::BackOff;
    }
    // Holds grow to kMaxHoldRounds: at most one probe (and one back-off) per 32 rounds.
    EXPECT_LE(probes, 200 / static_cast<int>(kMaxHoldRounds) + 1);
    EXPECT_LE(backOffs, 200 / static_cast<int>(kMaxHoldRounds) + 1);
    EXPECT_EQ(controller.holdLength(), kMaxHoldRounds);
    // The rate sits near its floor, and the stall the probes add stays inside the goal.
    EXPECT_LT(controller.rate(), 2 * PsiSettings{}.reclaimRateMin);
    EXPECT_LE(meanPressure(trace, 100), PsiSettings{}.pressure * 1.25);
}

TEST(PsiController, ReclaimShrinksAsPressureNearsTheGoal) {
    PsiController controller(PsiSettings{});
    controller.decide({1000 * kMiB, {}, 0, 0}, 0);
    // 0.02% of 6 s stalled: a fifth of the goal.
    const RoundDecision low = controller.decide({1000 * kMiB, {}, 1200, 0}, kRoundUs);
    PsiController other(PsiSettings{});
    other.decide({1000 * kMiB, {}, 0, 0}, 0);
    // 0.08%: four fifths.
    const RoundDecision high = other.decide({1000 * kMiB, {}, 4800, 0}, kRoundUs);
    EXPECT_EQ(low.kind, RoundKind::Reclaim);
    EXPECT_EQ(high.kind, RoundKind::Reclaim);
    EXPECT_GT(low.reclaimBytes, 3 * high.reclaimBytes);
    // Near the goal the rate holds; far under it it probes up.
    EXPECT_DOUBLE_EQ(high.rate, PsiSettings{}.reclaimRate);
    EXPECT_GT(low.rate, PsiSettings{}.reclaimRate);
}

}  // namespace
}  // namespace etmem::psi
