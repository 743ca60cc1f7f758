// SPDX-License-Identifier: MulanPSL-2.0
// The client reads the config file and sends its text: the daemon runs as root and must not
// open paths on a caller's behalf.
#pragma once

#include <stdexcept>
#include <string>

#include "etmem/contract/limits.hpp"

namespace etmem::cli {

// The limit is etmemd's (kMaxConfigBytes, the contract's): a larger file is refused here,
// before it is sent, with the same bound the daemon would apply.

class ConfigFileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The file's text. Throws ConfigFileError naming the path and why (strerror, too big, not
// text: a NUL byte or bytes that are not UTF-8, which a D-Bus string cannot carry).
std::string readConfigFile(const std::string& path);

}  // namespace etmem::cli
