// The keys each section of a config accepts; shared by the validator and the legacy reader
// (which places a key in its section by the key's name, since etmem 1.0's indentation is not
// reliable enough to do so).
#pragma once

#include <algorithm>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "etmem/slide/backends.hpp"

namespace etmem::config {

inline constexpr std::string_view kRootKeys[] = {"options"};
inline constexpr std::string_view kOptionKeys[] = {
    "loop", "interval", "sleep", "policies",
    // etmem 1.1's DAMON region-scan keys (optional)
    "sample_interval", "aggr_interval", "update_interval", "min_nr_regions", "max_nr_regions",
    // etmem 1.1's project gates (optional)
    "sysmem_threshold", "swapcache_high_wmark", "swapcache_low_wmark"};
// etmem 1.1's DAMON region-scan keys (optional, in options:).
inline constexpr std::string_view kRegionKeys[] = {
    "sample_interval", "aggr_interval", "update_interval", "min_nr_regions", "max_nr_regions"};
inline constexpr std::string_view kTaskKeys[] = {
    "type", "value", "max_threads", "engine", "param", "scanner", "swapper",
    // etmem 1.1's task keys (optional)
    "name", "swap_threshold", "dram_percent", "swap_flag",
    // pacing and selection (optional)
    "max_swap_rate", "pressure_limit", "cold_cycles"};
// Keys a section may leave out (every other key of etmem 1.0 is required).
inline constexpr std::string_view kOptionalKeys[] = {"max_threads",
                                                     "scanner",
                                                     "swapper",
                                                     "sysmem_threshold",
                                                     "swapcache_high_wmark",
                                                     "swapcache_low_wmark",
                                                     "name",
                                                     "swap_threshold",
                                                     "dram_percent",
                                                     "swap_flag",
                                                     "sample_interval",
                                                     "aggr_interval",
                                                     "update_interval",
                                                     "min_nr_regions",
                                                     "max_nr_regions",
                                                     "max_swap_rate",
                                                     "pressure_limit",
                                                     "cold_cycles"};
inline constexpr std::string_view kSwapFlagValues[] = {"yes", "no"};
// Backend choices a task may pin (etmem's own keys, not in etmem 1.0; default auto: probe).
inline constexpr auto& kScannerValues = slide::kScannerNames;  // the backends register there
inline constexpr auto& kSwapperValues = slide::kSwapperNames;
inline constexpr std::string_view kParamKeys[] = {"T"};

// The section header a known key belongs under ("" for the top level), for telling a
// misplaced key (wrong indentation) from a misspelt one.
inline std::optional<std::string_view> homeSectionOf(std::string_view key) {
    const auto in = [&](std::span<const std::string_view> keys) {
        return std::find(keys.begin(), keys.end(), key) != keys.end();
    };
    if (in(kRootKeys)) return "";
    if (in(kOptionKeys)) return "options";
    if (in(kTaskKeys)) return "policies";
    if (in(kParamKeys)) return "param";
    return std::nullopt;
}

// As in etmem 1.0, every key is required except max_threads (default 1); etmem's own
// scanner and swapper keys (default auto) and etmem 1.1's keys are optional too.
inline constexpr bool isRequiredKey(std::string_view key) {
    return std::find(std::begin(kOptionalKeys), std::end(kOptionalKeys), key) ==
           std::end(kOptionalKeys);
}

}  // namespace etmem::config
