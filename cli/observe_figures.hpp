// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's dry-run, idle-age and refault figures (etmem/figures.hpp names them),
// picked out of the figures a project or task reports that Statistics has no field for.
// `project show` and the metrics give them lines and families of their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "project_info.hpp"

namespace etmem::cli {

struct ObserveFigures {
    // mode observe: what the last cycle and the cycles since start would have swapped out.
    std::optional<std::uint64_t> wouldSwapPages, wouldSwapBytes;
    std::optional<std::uint64_t> totalWouldSwapPages, totalWouldSwapBytes;
    // Pages etmem swapped out that came back, in the last cycle and since start.
    std::optional<std::uint64_t> refaults, totalRefaults;
    // (age in cycles, resident bytes cold for at least that many cycles), ages ascending.
    std::vector<std::pair<unsigned, std::uint64_t>> idleBytes;
};

ObserveFigures observeFigures(const Statistics& stats);
// Whether a figure is one of these (shown by them, not among the others).
bool isObserveFigure(std::string_view name);

}  // namespace etmem::cli
