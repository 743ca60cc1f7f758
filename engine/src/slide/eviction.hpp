// SPDX-License-Identifier: MulanPSL-2.0
// Eviction, the act stage of the slide engine, per target: classifies the resident candidate
// pages by their counts (count >= T: hot, else cold), selects which cold pages go (cold
// streaks, etmem 1.1's gates and dram_percent budget, the options' selector), batches them
// into bounded calls, paces them (cycle_pacing.hpp) and counts what the mover confirms.
//
// How it stops: its walks read pagemap in chunks of at most 16 MiB of address space, a move
// is at most kMaxBytesPerCall in kMaxIovecsPerCall ranges, and confirmation reads pagemap
// chunk by chunk; each checks the stop token in between and returns early when it is set.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "etmem/log.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/slide/gates.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "slide/cold_streaks.hpp"
#include "slide/cycle_errors.hpp"
#include "slide/cycle_pacing.hpp"
#include "slide/cycle_target.hpp"
#include "slide/tiering.hpp"

namespace etmem::slide {

struct EvictionSettings {
    unsigned loop = 1;       // scan rounds per cycle: the histogram has 3 * loop + 1 buckets
    unsigned threshold = 0;  // T
    bool pagemapScan = false;
    ColdSelector selectCold;  // none: every cold page the gates allow
};

class Eviction {
  public:
    // tiering: the task's memory tiers (cold_destination: node N), or nullptr when cold pages
    // go to swap through `mover`.
    Eviction(EvictionSettings settings, std::shared_ptr<movers::Mover> mover, std::string moverWhy,
             Gates gates, CyclePacing& pacing, const ColdStreaks& streaks, CycleErrors& errors,
             Logger& logger, LogContext log, Tiering* tiering = nullptr);

    // Once per act, before the targets: whether pages may move this cycle (a mover, its
    // destination available, etmem 1.1's project-wide gates); starts the cycle's pacing.
    // `first`: the cycle's first target, or nullptr.
    bool begin(const Target* first);
    // Classifies one target's pages into `classes` and, when `mayMove`, moves the chosen
    // cold ones. Returns how many pages the mover confirmed.
    std::uint64_t evict(TargetState& state, std::stop_token stop, bool mayMove,
                        Classification& classes);

  private:
    std::uint64_t classifyAndMove(TargetState& state, std::stop_token stop, bool mayMove,
                                  Classification& classes, std::uint64_t budget);
    std::uint64_t moveInBatches(TargetState& state, kernel::PresentPagemap& present,
                                ColdSelection& selection, std::stop_token stop,
                                const Classification& classes);
    std::vector<kernel::PageRange> chosenColdestFirst(TargetState& state,
                                                      kernel::PresentPagemap& present,
                                                      ColdSelection& selection,
                                                      std::stop_token stop);
    std::optional<std::uint8_t> choose(TargetState& state, std::uint64_t address,
                                       ColdSelection& selection) const;
    std::uint64_t confirmChosen(TargetState& state, std::stop_token stop);
    GateDecision noteGate(GateDecision decision, LogLevel level);

    EvictionSettings settings_;
    std::shared_ptr<movers::Mover> mover_;
    std::string moverWhy_;
    Gates gates_;
    CyclePacing& pacing_;
    const ColdStreaks& streaks_;
    CycleErrors& errors_;
    Logger& logger_;
    LogContext log_;
    std::mutex gateMutex_;
    std::optional<bool> lastGateSwap_;
    Tiering* tiering_;
};

}  // namespace etmem::slide
