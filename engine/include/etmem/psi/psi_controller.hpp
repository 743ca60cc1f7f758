// SPDX-License-Identifier: MulanPSL-2.0
// The psi engine's controller for one cgroup: how much to ask memory.reclaim for this round.
//
// Each round it measures the pressure of the last round from the growth of memory.pressure's
// "some total" (stalled microseconds) over the round's wall time, in percent, so a change of
// phase shows in the very next round rather than through avg10's ten-second smoothing.
//
//   under the goal:  reclaim headroom * rate * (1 - pressure/goal), at most reclaim_max_bytes,
//                    where headroom is what the cgroup uses above its floor (limit_min_bytes,
//                    limit_min_ratio of memory.max, or of its peak use when it has no max).
//                    Well under (below half the goal) the rate probes up by reclaim_rate_min
//                    a round, up to reclaim_rate_max.
//   at or over it:   back off: nothing is reclaimed, the rate halves (not below
//                    reclaim_rate_min) and the controller holds for `hold` rounds. The hold
//                    doubles (up to kMaxHoldRounds) at each back-off and halves after each
//                    probe that stayed well under the goal.
//
// Why it cannot oscillate into hurting the workload: the amount falls linearly to zero as the
// pressure nears the goal, so it approaches the goal from below; a round over the goal costs
// one round of reclaim and halves the rate; and once reclaim only bites the working set
// (every probe is followed by a stall) the holds grow, so such probes come at most once every
// kMaxHoldRounds rounds and the average stall they add falls with them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "etmem/psi/psi_settings.hpp"

namespace etmem::psi {

inline constexpr unsigned kMaxHoldRounds = 32;
inline constexpr std::uint64_t kPageBytes = 4096;

// What a round reads of one cgroup.
struct CgroupReading {
    std::uint64_t current = 0;         // memory.current, bytes
    std::optional<std::uint64_t> max;  // memory.max; nullopt when "max"
    std::uint64_t stallTotalUs = 0;    // memory.pressure some total, microseconds
    double avg10 = 0;                  // memory.pressure some avg10, percent
};

enum class RoundKind {
    Baseline,  // the first reading: nothing to compare the stall with yet
    Reclaim,   // under the goal: reclaimBytes asked
    BackOff,   // at or over the goal: nothing asked, rate halved
    Hold,      // holding after a back-off
    AtFloor,   // nothing above the floor
};

struct RoundDecision {
    RoundKind kind = RoundKind::Baseline;
    std::uint64_t reclaimBytes = 0;
    double pressure = 0;  // percent, over the last round (avg10 on the first)
    double rate = 0;      // the rate after this round
    std::uint64_t floor = 0;
    std::string why;  // for back-offs: what was measured against what
};

class PsiController {
  public:
    explicit PsiController(const PsiSettings& settings);

    // One round: `elapsedUs` of wall time since the previous reading.
    RoundDecision decide(const CgroupReading& reading, std::uint64_t elapsedUs);
    // What the kernel actually gave back of the last decision's ask (EAGAIN: less).
    void reclaimed(std::uint64_t bytes) { lastReclaimed_ = bytes; }

    double rate() const { return rate_; }
    unsigned holdLength() const { return holdLength_; }

  private:
    std::uint64_t floorOf(const CgroupReading& reading) const;

    PsiSettings settings_;
    double rate_;
    std::optional<std::uint64_t> lastStall_;
    std::uint64_t peakUsage_ = 0;
    std::uint64_t lastReclaimed_ = 0;
    unsigned holdLength_ = 1;
    unsigned holdLeft_ = 0;
};

std::string_view toString(RoundKind kind);

}  // namespace etmem::psi
