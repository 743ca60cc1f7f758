// SPDX-License-Identifier: MulanPSL-2.0
// What a kdamond of the damon scanner is told: one context with the vaddr operations, a
// target per process with its candidates as initial regions, and a `stat` scheme per target.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <span>
#include <stop_token>

#include "etmem/kernel/memory_map.hpp"
#include "etmem/scanners/damon.hpp"

namespace etmem::scanners::damon {

struct KdamondTarget {
    pid_t pid = 0;
    std::span<const kernel::Vma> vmas;  // its candidates
};

// Writes the kdamond's context (it must be off). Scheme t's tried regions are then target
// t's alone. Throws std::system_error.
void writeKdamondConfig(const std::filesystem::path& kdamond, const DamonAttrs& attrs,
                        std::span<const KdamondTarget> targets, std::stop_token stop);

}  // namespace etmem::scanners::damon
