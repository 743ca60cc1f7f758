// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's objects: a 1.1 file adds (or removes) a project, an engine or tasks, either
// all in one file or each in its own file added in turn (`etmem obj add|del`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "etmem/config.hpp"

namespace etmem {

// What a 1.1 file holds. Throws ConfigError where its sections or names are wrong.
struct IniObjects {
    std::string project;  // the project the file is about (its [project] or project= keys)
    bool hasProject = false;
    bool regionScan = false;           // its [project] says scan_type=region
    std::vector<std::string> engines;  // [engine] names
    std::vector<std::string> tasks;    // [task] names
};
IniObjects describeIniObjects(std::string_view text);

// base with the file's [engine] and [task] sections added: every new task validated as a
// task of base (positions are the file's). The file must not hold a [project] (the project
// exists) and must not repeat a task name base has. regionScan: the project was given
// scan_type=region, so a new task that names no scanner gets the damon scanner, as it would
// have in the project's own file. Throws ConfigError.
ProjectConfig addIniObjects(const ProjectConfig& base, std::string_view text,
                            const ParseOptions& options, bool regionScan = false);

// base without the file's tasks (by name) and without every task of the file's engines
// (1.1 removes an engine with its tasks). A task base lacks is an error. Throws ConfigError.
ProjectConfig removeIniObjects(const ProjectConfig& base, std::string_view text);

}  // namespace etmem
