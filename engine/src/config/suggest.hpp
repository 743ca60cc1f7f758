// SPDX-License-Identifier: MulanPSL-2.0
// "Did you mean ...?" for unknown keys, so a typo is caught and its fix is named.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace etmem::config {

// The candidate closest to key (edit distance, ignoring case), if it is close enough to be a
// plausible typo of it.
std::optional<std::string_view> nearestKey(std::string_view key,
                                           std::span<const std::string_view> candidates);

// "unknown key 'intervall'; did you mean 'interval'?" or, with nothing close, the list of keys
// allowed at that place.
std::string unknownKeyMessage(std::string_view key, std::span<const std::string_view> allowed);

}  // namespace etmem::config
