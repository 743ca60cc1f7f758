// The keys each section of a config accepts; shared by the validator and the legacy reader
// (which places a key in its section by the key's name, since etmem 1.0's indentation is not
// reliable enough to do so).
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>

namespace etmem::config {

inline constexpr std::string_view kRootKeys[] = {"options"};
inline constexpr std::string_view kOptionKeys[] = {"loop", "interval", "sleep", "policies"};
inline constexpr std::string_view kTaskKeys[] = {"type",    "value",         "max_threads",
                                                 "engine",  "param",         "scanner",
                                                 "swapper", "max_swap_rate", "pressure_limit"};
// Backend choices a task may pin (etmem's own keys, not in etmem 1.0; default auto: probe).
inline constexpr std::string_view kScannerValues[] = {"auto", "idle_page", "damon", "idle_pages"};
inline constexpr std::string_view kSwapperValues[] = {"auto", "madvise", "swap_pages"};
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
// scanner and swapper keys are optional too (default auto).
inline constexpr bool isRequiredKey(std::string_view key) {
    return key != "max_threads" && key != "scanner" && key != "swapper" && key != "max_swap_rate" &&
           key != "pressure_limit";
}

}  // namespace etmem::config
