// SPDX-License-Identifier: MulanPSL-2.0
#include "notifier.hpp"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <string>

namespace etmem::service {
namespace {

void notify(const std::string& message) {
    sd_notify(0, message.c_str());
}

// STATUS= is one line: a newline would end the field early.
std::string oneLine(std::string_view text) {
    std::string line(text);
    for (char& c : line)
        if (c == '\n') c = ' ';
    return line;
}

}  // namespace

void Notifier::ready(std::string_view status) const {
    notify(fmt::format("READY=1\nSTATUS={}", oneLine(status)));
}

void Notifier::status(std::string_view status) const {
    notify(fmt::format("STATUS={}", oneLine(status)));
}

void Notifier::stopping(std::string_view status) const {
    notify(fmt::format("STOPPING=1\nSTATUS={}", oneLine(status)));
}

void Notifier::watchdogPing() const {
    notify("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> Notifier::watchdogPingInterval() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

}  // namespace etmem::service
