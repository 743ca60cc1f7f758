// SPDX-License-Identifier: MulanPSL-2.0
// Turns a D-Bus error (name + message) into the one line the user sees. No bus needed, so
// every mapping is unit-tested.
#pragma once

#include <string>
#include <string_view>

namespace etmem::cli {

// busName: the name etmem called (from the instance); instance: "" for the default etmemd.
std::string describeBusError(std::string_view errorName, std::string_view message,
                             std::string_view busName, std::string_view instance);

// When the system bus itself cannot be reached.
std::string describeConnectFailure(std::string_view message, std::string_view busName);

}  // namespace etmem::cli
