// SPDX-License-Identifier: MulanPSL-2.0
// Runs one `etmem` invocation: parse, then talk to etmemd through a DaemonClient, then print.
#pragma once

#include "daemon_client.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace etmem::cli {

inline constexpr int kExitSuccess = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (daemon said no, no daemon, ...)
inline constexpr int kExitUsage = 2;    // the command line is wrong; nothing was attempted

// args: argv without the program name. Results go to out; every failure is one line on
// err (a bare `etmem` or `etmem project` prints the help text there, as etmem 1.0 did).
int runEtmem(const std::vector<std::string>& args, const ClientFactory& connect, std::ostream& out,
             std::ostream& err);

}  // namespace etmem::cli
