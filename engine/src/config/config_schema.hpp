// The keys each section of a config accepts; shared by the validator and the legacy reader
// (which places a key in its section by the key's name, since etmem 1.0's indentation is not
// reliable enough to do so).
#pragma once

#include <string_view>

namespace etmem::config {

inline constexpr std::string_view kRootKeys[] = {"options"};
inline constexpr std::string_view kOptionKeys[] = {"loop", "interval", "sleep", "policies"};
inline constexpr std::string_view kTaskKeys[] = {"type", "value", "max_threads", "engine", "param"};
inline constexpr std::string_view kParamKeys[] = {"T"};

// As in etmem 1.0, every key is required except max_threads (default 1).
inline constexpr bool isRequiredKey(std::string_view key) {
    return key != "max_threads";
}

}  // namespace etmem::config
