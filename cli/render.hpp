// SPDX-License-Identifier: MulanPSL-2.0
// `etmem project show` output: a table for people, JSON for scripts.
#pragma once

#include "histogram_chart.hpp"
#include "project_info.hpp"

#include <string>
#include <vector>

namespace etmem::cli {

// One row per task (project columns on its first row); then, indented under the project,
// its statistics: the last cycle's counts, totals since start, backends, last error and the
// access-count chart ("no cycle finished yet" before the first cycle); then the same for
// each task when there are several.
std::string renderTable(const std::vector<ProjectInfo>& projects,
                        BarGlyphs glyphs = BarGlyphs::Ascii);

// A JSON array with one object per project; keys are the property names in snake_case.
// Each element of "tasks" carries the task's config and, from a daemon that reports them,
// its statistics under the same keys as the project's.
std::string renderJson(const std::vector<ProjectInfo>& projects);

// The gate keys set in a project's normalized YAML (its Config property), in order: what
// a daemon older than the Gates and TaskGates properties leaves to read.
std::vector<std::string> gatesOfConfig(std::string_view normalizedYaml);

}  // namespace etmem::cli
