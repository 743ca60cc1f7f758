// SPDX-License-Identifier: MulanPSL-2.0
// Wiring of etmemd: bus, registry, objects, notifications, signals; and its lifecycle.
#pragma once

#include "options.hpp"

namespace etmem::service {

// Runs until SIGTERM/SIGINT; returns the process exit status.
int runDaemon(const DaemonOptions& options);

}  // namespace etmem::service
