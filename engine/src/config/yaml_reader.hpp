// SPDX-License-Identifier: MulanPSL-2.0
#pragma once

#include <string_view>

#include "config/config_tree.hpp"

namespace etmem::config {

// Reads a YAML config into the tree. Throws ConfigError (never a yaml-cpp exception) for
// text that is not YAML, several documents, non-scalar keys, or absurd nesting/size.
ConfigNode readYamlTree(std::string_view text);

// Whether yaml-cpp accepts the text at all (used to pick a reader).
bool parsesAsYaml(std::string_view text);

}  // namespace etmem::config
