// SPDX-License-Identifier: MulanPSL-2.0
// Cold streaks (cold_cycles): a page may go only once it has been cold in that many
// consecutive cycles. Each target keeps one byte per cold resident page for the cycle it
// came with and the one it is in; between cycles the streaks are carried by pid, and the
// pidfd tells a reused pid (its process then starts over). With cold_cycles 1 (the default)
// nothing is kept and every cold page may go
// (unless the tier chain needs the streaks).
//
// How it stops: it walks nothing of its own; eviction asks it page by page during its walk.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include "slide/cycle_target.hpp"

namespace etmem::slide {

class ColdStreaks {
  public:
    // keepUpTo: streaks are counted up to this many cycles (at least coldCycles): the memory
    // tier chain (then_swap_after) reads streaks beyond cold_cycles.
    explicit ColdStreaks(unsigned coldCycles, unsigned keepUpTo = 0);

    // At the start of a cycle: each target gets the streaks its process had at the end of
    // the last cycle (a pid that now names another process gets none: the old pidfd says
    // it exited).
    void handOut(std::vector<TargetState>& states);
    // At the end of a cycle: keeps each target's streaks for the next one, this cycle's
    // where its pages were classified, else the ones it came with. A target missing from a
    // cycle starts over.
    void keep(std::vector<TargetState>& states);

    // Whether a page cold now has been cold in cold_cycles consecutive cycles, this one
    // included (always, with the default 1). Records its streak for the next cycle.
    bool coldLongEnough(TargetState& state, std::uint64_t address) const;
    // Whether a page the budget allows may go: only once its streak is full (the
    // classification left the others out of the budget).
    bool mayGo(const TargetState& state, std::uint64_t address) const;

  private:
    struct Carried {
        Target process;
        PageCounts streaks;
    };

    unsigned coldCycles_;  // consecutive cold cycles before a page may go
    unsigned keepUpTo_;    // the longest streak counted
    std::map<pid_t, Carried> carried_;
};

}  // namespace etmem::slide
