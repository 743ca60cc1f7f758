// SPDX-License-Identifier: MulanPSL-2.0
#include "scanners/damon/window_collector.hpp"

#include <system_error>

#include <fmt/format.h>

#include "etmem/kernel/files.hpp"
#include "scanners/damon/damon_sysfs.hpp"

namespace etmem::scanners::damon {
namespace {

namespace fs = std::filesystem;
using kernel::readNumber;

Regions accessedRegions(const fs::path& triedRegions) {
    Regions regions;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(triedRegions, ec)) {
        if (!entry.is_directory(ec)) continue;
        if (readNumber(entry.path() / "nr_accesses") == 0) continue;
        std::uint64_t start = readNumber(entry.path() / "start");
        std::uint64_t end = readNumber(entry.path() / "end");
        if (end > start) regions.emplace_back(start, end);
    }
    return regions;
}

}  // namespace

void collectWindows(std::stop_token stop, const fs::path& kdamond, std::size_t schemes,
                    std::chrono::microseconds aggregation, WindowListener& listener) {
    auto schemesDir = kdamond / "contexts/0/schemes";
    while (!stop.stop_requested()) {
        try {
            // Another etmem project's kdamond may hold DAMON's one request slot for up to
            // a window: wait for it rather than fail.
            writeDamonFile(kdamond / "state", "update_schemes_tried_regions", stop,
                           std::chrono::seconds(2) + 2 * aggregation);
        } catch (const std::system_error& e) {
            // The kdamond ends when all its targets exit.
            if (readDamonState(kdamond) != "on")
                listener.collectionEnded(std::nullopt);
            else
                listener.collectionEnded(fmt::format("DAMON: {}", e.what()));
            return;
        }
        if (stop.stop_requested()) return;
        std::vector<Regions> window(schemes);
        for (std::size_t s = 0; s < schemes; ++s)
            window[s] = accessedRegions(schemesDir / std::to_string(s) / "tried_regions");
        listener.windowClosed(std::move(window));
    }
}

}  // namespace etmem::scanners::damon
