// SPDX-License-Identifier: MulanPSL-2.0
// How a project and its tasks are set up, as named values the daemon reports, so a client
// reads the gates and the engine's settings instead of parsing them back out of the config.
// Names are the config's keys.
#pragma once

#include "etmem/config.hpp"
#include "etmem/figures.hpp"

namespace etmem {

// etmem 1.1's project gates that are set, valued as the config writes them ("50").
FigureList projectGates(const ProjectConfig& project);
// A task's gates: swap_threshold ("10g") and dram_percent when set, swap_flag always
// ("yes" | "no"), valued as the config writes them.
FigureList taskGates(const TaskConfig& task);
// What a task's engine runs with, typed: engine, T, the scanner and swapper asked for
// ("auto" or a backend's name; the cycles report the ones in use), cold_cycles, the pacing
// keys and the DAMON region keys that are set (a region key not set is derived per target).
FigureList taskSettings(const ProjectConfig& project, const TaskConfig& task);

}  // namespace etmem
