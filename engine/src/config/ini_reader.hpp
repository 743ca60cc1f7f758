// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's config form: `[project]`, `[engine]` and `[task]` sections of `key=value`
// lines (GKeyFile-like: `#` starts a comment line, blanks around `=` are dropped).
//
// The reader checks what is the form's own (sections, which key goes where, names that tie
// sections together, scan_type) and builds the same tree the other readers build, so the one
// validator judges values, ranges and required keys:
//   [project] loop, interval, sleep, gates, region keys   -> options.*
//   [task] type, value, max_threads, engine, 1.1 keys     -> options.policies[i].*
//   [task] T (its engine's param keys)                    -> options.policies[i].param.T
//   [project] scan_type=region                            -> each task's scanner: damon
// [engine] only names the engine (a row of the engine registry) a task attaches to.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_tree.hpp"

namespace etmem::config {

struct IniName {
    std::string name;
    Position at;  // of the value
};

// What a 1.1 file holds, section by section.
struct IniFile {
    std::optional<IniName> project;  // [project] name=
    Position projectAt;              // the [project] header
    std::string projectRef;          // the project every section names ("" if none does)
    bool regionScan = false;         // [project] scan_type=region
    std::vector<IniName> engines;    // [engine] name= of each section
    std::vector<IniName> tasks;      // [task] name= of each section
    // options.* entries from [project], and one task map per [task].
    std::vector<MapEntry> options;
    std::vector<ConfigNode> taskNodes;
};

// Whether a task of this tree takes the `scanner` key (its engine has one, or is unknown and
// the validator will say so): scan_type=region gives such tasks the damon scanner.
bool takesScanner(const ConfigNode& task);

// Whether the first line that is not blank or a comment is a `[section]` header.
bool looksLikeIni(std::string_view text);

// Reads the sections. Throws ConfigError with the line and column of the fault.
IniFile readIniFile(std::string_view text);

// The tree of a file that holds a [project] (and maybe its engines and tasks).
ConfigNode iniProjectTree(const IniFile& file);

}  // namespace etmem::config
