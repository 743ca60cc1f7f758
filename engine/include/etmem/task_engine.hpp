// SPDX-License-Identifier: MulanPSL-2.0
// The seam between the cycle scheduler and an engine that decides what is cold.
//
// The scheduler (ProjectRunner) owns timing: per task and per cycle it resolves the targets,
// calls beginCycle, then scan() `loop` times `interval` seconds apart, then act(), then
// sleeps `sleep` seconds. An engine owns what happens to memory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "etmem/config.hpp"
#include "etmem/figures.hpp"
#include "etmem/log.hpp"
#include "etmem/process.hpp"

namespace etmem {

// What one cycle of one task did. Counts are pages of the targets' private memory.
// Everything past the engine reads the counts by name, through figures(): an outcome the
// fields below do not name (a mover's pages migrated, say) goes in `extra` and reaches the
// bus and the CLI as it is.
struct CycleReport {
    std::uint64_t pagesScanned = 0;
    std::uint64_t pagesHot = 0;
    std::uint64_t pagesCold = 0;
    std::uint64_t pagesSwapped = 0;
    std::uint64_t bytesSwapped = 0;
    // histogram[k]: pages whose weighted access count was k in this cycle (k = 0..3*loop).
    std::vector<std::uint64_t> histogram;
    std::string scanner;  // backend names in use, "" if none
    std::string swapper;
    // What pacing (max_swap_rate, pressure_limit) did in this cycle.
    struct Pacing {
        bool paced = false;      // cold pages were held back or swap-out paused
        bool paused = false;     // memory pressure at or above pressure_limit
        std::string reason;      // "" when not paced
        std::uint64_t rate = 0;  // swap-out rate allowed, bytes/s (0: unlimited)
        double pressure = -1;    // PSI some avg10 read, percent; -1 when not read
        bool operator==(const Pacing&) const = default;
    } pacing;
    // Why this cycle could not do all its work ("" when it could): no swap device, no
    // backend, no permission... Said so the operator knows what to fix.
    std::string error;
    // The cycle's other figures, after the counts above.
    FigureList extra;

    // The counts above by name (pages and bytes swapped totalled across cycles), then extra.
    FigureList figures() const;
};

class TaskEngine {
  public:
    virtual ~TaskEngine() = default;
    // A new cycle over these targets (already resolved, held by pidfd): discovery and
    // baseline. Returns promptly once stop is requested.
    virtual void beginCycle(std::span<const Target> targets, std::stop_token stop) = 0;
    // One scan round. Returns promptly once stop is requested.
    virtual void scan(std::stop_token stop) = 0;
    // Classifies the pages seen in this cycle's scans and acts on the cold ones.
    virtual CycleReport act(std::stop_token stop) = 0;
};

struct EngineContext {
    const ProjectConfig& project;
    const TaskConfig& task;
    LogContext log;  // project and task filled in
    Logger& logger;
};

using TaskEngineFactory = std::function<std::unique_ptr<TaskEngine>(const EngineContext&)>;

// An engine that only observes: it counts nothing and touches no memory. It stands in
// where no engine that acts is available, so cycles still resolve targets and tick.
std::unique_ptr<TaskEngine> makeObserveOnlyEngine(const EngineContext& context);

}  // namespace etmem
