// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi: reclaims a cgroup v2 through memory.reclaim as far as a memory-pressure goal
// allows (etmem/psi/psi_controller.hpp says how). Figures per cycle: bytes_reclaimed (and
// total_bytes_reclaimed), reclaim_backoffs (and its total), pressure (percent, the highest of
// the cycle's rounds), reclaim_rate, cgroups.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "etmem/kernel/paths.hpp"
#include "etmem/task_engine.hpp"

namespace etmem::psi {

// The most one write to memory.reclaim asks for: what bounds how long a stop waits.
inline constexpr std::uint64_t kReclaimChunkBytes = std::uint64_t{8} << 20;

struct PsiEngineOptions {
    kernel::KernelPaths paths;
    // The clock (tests); none: steady_clock.
    std::function<std::chrono::steady_clock::time_point()> now;
    std::uint64_t chunkBytes = kReclaimChunkBytes;
};

std::unique_ptr<TaskEngine> makePsiEngine(const EngineContext& context,
                                          PsiEngineOptions options = {});

// A slide task and a psi task of one project on the same processes (same type and value)
// compose: slide chooses which pages go, psi how much pressure is acceptable. Unless the slide
// task sets its own pressure_limit, its swap-out is paced by the psi task's goal (clamped to
// pressure_limit's range), so the two together keep to that goal instead of slide's swap-out
// adding stall that psi then backs off for. Returns the pressure_limit the slide task runs
// with (0: off).
double composedPressureLimit(const ProjectConfig& project, const TaskConfig& slideTask);

}  // namespace etmem::psi
