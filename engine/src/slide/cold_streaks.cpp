// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/cold_streaks.hpp"

#include <fcntl.h>

#include <algorithm>

namespace etmem::slide {

ColdStreaks::ColdStreaks(unsigned coldCycles, unsigned keepUpTo)
    : coldCycles_(std::max(1u, coldCycles)), keepUpTo_(std::max(coldCycles_, keepUpTo)) {}

void ColdStreaks::handOut(std::vector<TargetState>& states) {
    for (auto& state : states) {
        auto found = carried_.find(state.target.pid);
        if (found != carried_.end() && found->second.process.alive())
            state.previousStreaks = std::move(found->second.streaks);
    }
    carried_.clear();
}

void ColdStreaks::keep(std::vector<TargetState>& states) {
    if (keepUpTo_ <= 1) return;
    for (auto& state : states) {
        if (state.dropped) continue;
        Carried carried;
        carried.process.pid = state.target.pid;
        carried.process.pidfd = UniqueFd(::fcntl(state.target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
        carried.streaks = std::move(state.classified ? state.streaks : state.previousStreaks);
        carried_[state.target.pid] = std::move(carried);
    }
}

bool ColdStreaks::coldLongEnough(TargetState& state, std::uint64_t address) const {
    if (keepUpTo_ <= 1) return true;
    const unsigned streak = std::min(state.previousStreaks.countAt(address) + 1u, keepUpTo_);
    state.streaks.forPages(address, 1,
                           [&](std::uint8_t& s) { s = static_cast<std::uint8_t>(streak); });
    return streak >= coldCycles_;
}

bool ColdStreaks::mayGo(const TargetState& state, std::uint64_t address) const {
    return coldCycles_ <= 1 || state.streaks.countAt(address) >= coldCycles_;
}

}  // namespace etmem::slide
