// `etmem project show` output: a table for people, JSON for scripts.
#pragma once

#include "project_info.hpp"

#include <string>
#include <vector>

namespace etmem::cli {

// One row per task (project columns on its first row), then, indented under the project,
// the last cycle's statistics once it has run and its last error when there is one.
std::string renderTable(const std::vector<ProjectInfo>& projects);

// A JSON array with one object per project; keys are the property names in snake_case.
std::string renderJson(const std::vector<ProjectInfo>& projects);

}  // namespace etmem::cli
