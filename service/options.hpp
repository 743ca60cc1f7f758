// etmemd's command line, as the original etmemd takes it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "etmem/log.hpp"

namespace etmem::service {

struct DaemonOptions {
    LogLevel logLevel = LogLevel::Info;
    std::string instance;  // -s NAME; "" for the default instance
};

struct ParsedOptions {
    std::optional<DaemonOptions> options;  // empty when the process should exit
    int exitCode = 0;                      // 0 after --help, 2 after a usage error
    std::string output;                    // help (stdout) or error + usage (stderr)
};

std::string daemonUsage();
ParsedOptions parseDaemonOptions(const std::vector<std::string>& args);

}  // namespace etmem::service
