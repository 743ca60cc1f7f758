// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/psi/psi_controller.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace etmem::psi {

PsiController::PsiController(const PsiSettings& settings)
    : settings_(settings),
      rate_(std::clamp(settings.reclaimRate, settings.reclaimRateMin, settings.reclaimRateMax)) {}

std::uint64_t PsiController::floorOf(const CgroupReading& reading) const {
    const double base = static_cast<double>(reading.max.value_or(peakUsage_));
    const auto byRatio = static_cast<std::uint64_t>(base * settings_.limitMinRatio);
    return std::max(settings_.limitMinBytes, byRatio);
}

RoundDecision PsiController::decide(const CgroupReading& reading, std::uint64_t elapsedUs) {
    peakUsage_ = std::max(peakUsage_, reading.current);
    RoundDecision decision;
    decision.floor = floorOf(reading);
    const std::optional<std::uint64_t> previous = lastStall_;
    lastStall_ = reading.stallTotalUs;
    if (!previous || elapsedUs == 0) {
        decision.pressure = reading.avg10;
        decision.rate = rate_;
        return decision;
    }
    const std::uint64_t stalled =
        reading.stallTotalUs >= *previous ? reading.stallTotalUs - *previous : 0;
    const double pressure = 100.0 * static_cast<double>(stalled) / static_cast<double>(elapsedUs);
    decision.pressure = pressure;
    const double goal = settings_.pressure;
    const bool probed = lastReclaimed_ > 0;
    lastReclaimed_ = 0;

    if (pressure >= goal) {
        rate_ = std::max(settings_.reclaimRateMin, rate_ / 2);
        holdLeft_ = holdLength_;
        holdLength_ = std::min(kMaxHoldRounds, holdLength_ * 2);
        decision.kind = RoundKind::BackOff;
        decision.rate = rate_;
        decision.why = fmt::format(
            "pressure {:.3f}% is at or over the goal {}% ({} us stalled in {:.1f} s); rate "
            "halved to {:.3f}, holding {} round(s)",
            pressure, goal, stalled, static_cast<double>(elapsedUs) / 1e6, rate_, holdLeft_);
        return decision;
    }
    const bool wellUnder = pressure < goal / 2;
    if (probed && wellUnder) holdLength_ = std::max(1U, holdLength_ / 2);
    if (holdLeft_ > 0) {
        --holdLeft_;
        decision.kind = RoundKind::Hold;
        decision.rate = rate_;
        return decision;
    }
    if (reading.current <= decision.floor) {
        decision.kind = RoundKind::AtFloor;
        decision.rate = rate_;
        return decision;
    }
    const double headroom = static_cast<double>(reading.current - decision.floor);
    const double wanted = headroom * rate_ * (1.0 - pressure / goal);
    std::uint64_t bytes =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(wanted), settings_.reclaimMaxBytes);
    bytes -= bytes % kPageBytes;
    decision.kind = bytes > 0 ? RoundKind::Reclaim : RoundKind::AtFloor;
    decision.reclaimBytes = bytes;
    if (wellUnder) rate_ = std::min(settings_.reclaimRateMax, rate_ + settings_.reclaimRateMin);
    decision.rate = rate_;
    return decision;
}

std::string_view toString(RoundKind kind) {
    switch (kind) {
        case RoundKind::Baseline:
            return "baseline";
        case RoundKind::Reclaim:
            return "reclaim";
        case RoundKind::BackOff:
            return "back-off";
        case RoundKind::Hold:
            return "hold";
        case RoundKind::AtFloor:
            return "at-floor";
    }
    return "?";
}

}  // namespace etmem::psi
