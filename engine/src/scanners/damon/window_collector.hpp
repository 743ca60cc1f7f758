// SPDX-License-Identifier: MulanPSL-2.0
// Reading every aggregation window of a kdamond that is on.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace etmem::scanners::damon {

// Address ranges [start, end).
using Regions = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

class WindowListener {
  public:
    virtual ~WindowListener() = default;
    // A window closed; accessed[s] holds scheme s's regions with nr_accesses > 0.
    virtual void windowClosed(std::vector<Regions> accessed) = 0;
    // No more windows: the kdamond ended (all its targets exited; failure empty), or asking
    // for a window failed (failure says how).
    virtual void collectionEnded(std::optional<std::string> failure) = 0;
};

// Until stop is requested or the kdamond ends: asks `update_schemes_tried_regions` of the
// kdamond (the write returns once it has applied the schemes at the end of the window in
// flight) and hands each of its `schemes` schemes' accessed regions to the listener. Reading
// takes far less than a window, so none is missed.
void collectWindows(std::stop_token stop, const std::filesystem::path& kdamond, std::size_t schemes,
                    std::chrono::microseconds aggregation, WindowListener& listener);

}  // namespace etmem::scanners::damon
