// SPDX-License-Identifier: MulanPSL-2.0
// DaemonClient over the system bus, through the proxies generated from dbus-interfaces/*.xml.
#pragma once

#include "daemon_client.hpp"

#include <memory>
#include <string>

namespace etmem::cli {

// Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) and targets the etmemd of
// `instance` ("" = the default one). Throws ClientError when the bus cannot be reached.
std::unique_ptr<DaemonClient> connectToDaemon(const std::string& instance);

}  // namespace etmem::cli
