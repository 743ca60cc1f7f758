// SPDX-License-Identifier: MulanPSL-2.0
// Pacing of one task's eviction across a cycle (max_swap_rate, pressure_limit; the rules are
// pacing.hpp's): the task's targets share one pacer, so they move pages one after another,
// and a cycle's moves are spread over at most its pacing window (the project's interval).
// Above pressure_limit a cycle does not even scan.
//
// How it stops: paced moves go in batches of at most a tenth of a second of the rate (16 MiB
// unpaced); the waits between them end as soon as stop is requested.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <vector>

#include "etmem/log.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/slide/pacing.hpp"
#include "etmem/task_engine.hpp"
#include "slide/cycle_target.hpp"

namespace etmem::slide {

class CyclePacing {
  public:
    CyclePacing(const ProjectConfig& project, const TaskConfig& task, kernel::KernelPaths paths);

    // Whether the task sets max_swap_rate or pressure_limit.
    bool active() const { return pacer_.has_value(); }
    // Before the scan: whether pressure at or above the limit pauses this whole cycle
    // (marking pages idle and clearing soft-dirty cost the workload faults and TLB flushes
    // that eviction would not use). `first`: the cycle's first target, or nullptr.
    bool pausesCycle(const Target* first);
    // At the start of the eviction: the bucket refills from now on, for one window.
    void begin(const Target* first);
    // Moves `cold` (coldest first) of one target in paced batches and returns how many pages
    // the mover confirmed. The task's targets take turns.
    std::uint64_t move(TargetState& state, movers::Mover& mover,
                       const std::vector<kernel::PageRange>& cold, std::stop_token stop);
    // The eviction's pacing into the report, and a journal line when it starts or ends.
    void end(CycleReport& cycle, Logger& logger, const LogContext& log);

  private:
    std::filesystem::path pressureFile(const Target& target) const;

    kernel::KernelPaths paths_;
    std::optional<Pacer> pacer_;  // empty when the task sets neither limit
    std::mutex pacerMutex_;
    std::chrono::seconds window_{1};
    Pacer::Clock::time_point deadline_{};
    PacingState cycle_, lastCycle_;
    bool pausedBeforeScan_ = false;
};

}  // namespace etmem::slide
