// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.0's own config form: one `key : value` or `section:` per line, indented with any
// mix of tabs and spaces. The original README's example is such a file; it is not YAML.
//
// Because that indentation is unreliable (the README's own example indents `param:` deeper
// than its siblings), a key's section follows from the key's name, not from its indentation:
//   options:                           the project section
//   loop, interval, sleep, policies:   keys of options
//   type, value, max_threads, engine, param:   keys of the current task
//   T                                  key of the current task's param section
//   mode                               the project's before the first policies:, else
//                                      the current task's
// Several tasks: every `policies:` line starts a new task (the original README: "each task
// starts with policies:"). A key repeated within one task is an error, not a new task.
#pragma once

#include <string_view>

#include "config/config_tree.hpp"

namespace etmem::config {

// Reads the line form into the same tree the YAML reader builds. Throws ConfigError.
ConfigNode readLegacyTree(std::string_view text);

// Marks only the line form has: a tab in a line's indentation, or a known key written
// `key:value` without a space (which YAML would take as one word).
bool hasLegacyOnlyMarks(std::string_view text);

// Whether every line is blank, a comment, `key : value` or `key:`.
bool isLegacyShaped(std::string_view text);

}  // namespace etmem::config
