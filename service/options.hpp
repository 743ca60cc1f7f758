// SPDX-License-Identifier: MulanPSL-2.0
// etmemd's command line, as the original etmemd takes it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
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

// Where an instance keeps its projects: $STATE_DIRECTORY when set (systemd's
// StateDirectory=; its first entry), else /var/lib/etmem for the main instance and
// /var/lib/etmem@<NAME escaped as systemd escapes a unit instance> for -s NAME — the
// directory etmemd@NAME.service gets from StateDirectory=etmem@%i, so a daemon started by
// hand and one started by systemd find the same projects.
std::filesystem::path stateDirectoryFor(std::string_view instance, const char* stateDirectoryEnv);

// systemd's escaping of a unit-name instance (systemd-escape): [A-Za-z0-9:_.] kept (but a
// leading '.'), '/' as '-', every other byte as \xNN.
std::string systemdEscape(std::string_view text);

std::string daemonUsage();
ParsedOptions parseDaemonOptions(const std::vector<std::string>& args);

}  // namespace etmem::service
