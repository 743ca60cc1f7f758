// SPDX-License-Identifier: MulanPSL-2.0
// The DAMON sysfs files that take DAMON's sysfs lock (a kdamond's state and the nr_* files):
// the kernel answers EBUSY while a kdamond's tried-regions request holds that lock (up to a
// window, and another etmem project's kdamond may be the one), so these ask again.
#pragma once

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>

namespace etmem::scanners::damon {

using Clock = std::chrono::steady_clock;

// Writes `text`, asking again on EBUSY until `patience` runs out or stop is requested.
// Throws std::system_error.
void writeDamonFile(const std::filesystem::path& path, std::string_view text, std::stop_token stop,
                    std::chrono::microseconds patience = std::chrono::seconds(5));

// A kdamond's state ("on", "off"), asking again on EBUSY until `patience` runs out; "" when
// it cannot be read.
std::string readDamonState(const std::filesystem::path& kdamond, std::stop_token stop = {},
                           std::chrono::microseconds patience = std::chrono::seconds(5));

}  // namespace etmem::scanners::damon
