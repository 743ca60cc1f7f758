// SPDX-License-Identifier: MulanPSL-2.0
// Cold streaks: how many consecutive cycles each resident page has been cold, for
// cold_cycles (a page may go only once it has been cold in that many) and for the idle-age
// report (resident bytes cold for >= 1, 2, 4 ... kMaxStreak cycles). Each target keeps one
// byte per cold resident page for the cycle it came with and the one it is in; streaks stop
// counting at kMaxStreak. Between cycles the streaks, and the pages etmem swapped out of the
// process (swapped_pages.hpp, for refaults), are carried by pid; the pidfd tells a reused
// pid (its process then starts over).
//
// How it stops: it walks nothing of its own; eviction asks it page by page during its walk.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "etmem/slide/slide_settings.hpp"
#include "slide/cycle_target.hpp"
#include "slide/swapped_pages.hpp"

namespace etmem::slide {

// The idle-age report's buckets: ages 1, 2, 4 ... 128 cycles.
inline constexpr std::size_t kIdleAgeBuckets = 8;
inline constexpr unsigned kMaxStreak = 1u << (kIdleAgeBuckets - 1);
static_assert(kMaxColdCycles <= kMaxStreak && kMaxStreak < 255);
// The bucket of a streak (1..kMaxStreak): the largest i with 2^i <= streak.
std::size_t idleAgeBucket(unsigned streak);
// pages[i]: pages whose streak falls in bucket i -> bytes cold for >= 2^i cycles.
std::array<std::uint64_t, kIdleAgeBuckets> cumulativeIdleBytes(
    std::span<const std::uint64_t> pages);

class ColdStreaks {
  public:
    explicit ColdStreaks(unsigned coldCycles);

    // At the start of a cycle: each target gets the streaks its process had at the end of
    // the last cycle (a pid that now names another process gets none: the old pidfd says
    // it exited).
    void handOut(std::vector<TargetState>& states);
    // At the end of a cycle: keeps each target's streaks for the next one, this cycle's
    // where its pages were classified, else the ones it came with. A target missing from a
    // cycle starts over.
    void keep(std::vector<TargetState>& states);

    // A page cold now: its streak of consecutive cold cycles, this one included (at most
    // kMaxStreak), recorded for the next cycle.
    unsigned recordCold(TargetState& state, std::uint64_t address) const;
    // Whether a streak reaches cold_cycles (always, with the default 1).
    bool longEnough(unsigned streak) const { return streak >= coldCycles_; }
    // Whether a page the budget allows may go: only once its streak is full (the
    // classification left the others out of the budget).
    bool mayGo(const TargetState& state, std::uint64_t address) const;

  private:
    struct Carried {
        Target process;
        PageCounts streaks;
        SwappedPages swapped;
    };

    unsigned coldCycles_;  // consecutive cold cycles before a page may go
    std::map<pid_t, Carried> carried_;
};

}  // namespace etmem::slide
