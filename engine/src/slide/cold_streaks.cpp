// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/cold_streaks.hpp"

#include <fcntl.h>

#include <algorithm>
#include <bit>

namespace etmem::slide {

std::size_t idleAgeBucket(unsigned streak) {
    return static_cast<std::size_t>(std::bit_width(std::clamp(streak, 1u, kMaxStreak))) - 1;
}

std::array<std::uint64_t, kIdleAgeBuckets> cumulativeIdleBytes(
    std::span<const std::uint64_t> pages) {
    std::array<std::uint64_t, kIdleAgeBuckets> bytes{};
    std::uint64_t older = 0;
    for (std::size_t i = kIdleAgeBuckets; i-- > 0;) {
        if (i < pages.size()) older += pages[i];
        bytes[i] = older * kernel::kPageSize;
    }
    return bytes;
}

ColdStreaks::ColdStreaks(unsigned coldCycles) : coldCycles_(std::max(1u, coldCycles)) {}

void ColdStreaks::handOut(std::vector<TargetState>& states) {
    for (auto& state : states) {
        auto found = carried_.find(state.target.pid);
        if (found != carried_.end() && found->second.process.alive()) {
            state.previousStreaks = std::move(found->second.streaks);
            state.swapped = std::move(found->second.swapped);
        }
    }
    carried_.clear();
}

void ColdStreaks::keep(std::vector<TargetState>& states) {
    for (auto& state : states) {
        if (state.dropped) continue;
        Carried carried;
        carried.process.pid = state.target.pid;
        carried.process.pidfd = UniqueFd(::fcntl(state.target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
        carried.streaks = std::move(state.classified ? state.streaks : state.previousStreaks);
        carried.swapped = std::move(state.swapped);
        carried_[state.target.pid] = std::move(carried);
    }
}

unsigned ColdStreaks::recordCold(TargetState& state, std::uint64_t address) const {
    const unsigned streak = std::min(state.previousStreaks.countAt(address) + 1u, kMaxStreak);
    state.streaks.forPages(address, 1,
                           [&](std::uint8_t& s) { s = static_cast<std::uint8_t>(streak); });
    return streak;
}

bool ColdStreaks::mayGo(const TargetState& state, std::uint64_t address) const {
    return coldCycles_ <= 1 || state.streaks.countAt(address) >= coldCycles_;
}

}  // namespace etmem::slide
