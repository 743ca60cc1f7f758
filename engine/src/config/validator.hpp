#pragma once

#include "config/config_tree.hpp"
#include "etmem/config.hpp"

namespace etmem::config {

// Checks a tree from either reader against the config's rules and builds the model.
// Throws ConfigError naming position, key path, value and what is allowed.
ProjectConfig validateConfig(const ConfigNode& root, const ParseOptions& options);

}  // namespace etmem::config
