// SPDX-License-Identifier: MulanPSL-2.0
// The service manager's notification protocol (sd_notify): READY, STATUS, STOPPING and
// watchdog pings. Every call is a no-op when NOTIFY_SOCKET is unset.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace etmem::service {

class Notifier {
  public:
    void ready(std::string_view status) const;
    void status(std::string_view status) const;
    void stopping(std::string_view status) const;
    void watchdogPing() const;
    // How often to ping: half the interval the service manager asked for, if it asked.
    static std::optional<std::chrono::microseconds> watchdogPingInterval();
};

}  // namespace etmem::service
