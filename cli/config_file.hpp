// The client reads the config file and sends its text: the daemon runs as root and must not
// open paths on a caller's behalf.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace etmem::cli {

// An etmem config is a few lines; anything this big is the wrong file (or /dev/zero).
inline constexpr std::size_t kMaxConfigBytes = 16 * 1024 * 1024;

class ConfigFileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The file's text. Throws ConfigFileError naming the path and why (strerror, too big, not
// text: a NUL byte or bytes that are not UTF-8, which a D-Bus string cannot carry).
std::string readConfigFile(const std::string& path);

}  // namespace etmem::cli
