// SPDX-License-Identifier: MulanPSL-2.0
#pragma once

#include "config/config_tree.hpp"
#include "etmem/config.hpp"

namespace etmem::config {

// Checks a tree from either reader against the config's rules and builds the model.
// Throws ConfigError naming position, key path, value and what is allowed. tasksOptional:
// an empty task list is a project without tasks yet (etmem 1.1's form adds them later).
ProjectConfig validateConfig(const ConfigNode& root, const ParseOptions& options,
                             bool tasksOptional = false);

}  // namespace etmem::config
