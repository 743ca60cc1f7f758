// SPDX-License-Identifier: MulanPSL-2.0
// A D-Bus string must be valid UTF-8: the check both sides use on names and config text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace etmem {

// Length in bytes of the well-formed UTF-8 sequence starting at text[pos], or 0 when the
// bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF included).
std::size_t utf8SequenceLength(std::string_view text, std::size_t pos);

// Offset of the first byte that is not part of valid UTF-8; nullopt when all of it is.
std::optional<std::size_t> firstInvalidUtf8(std::string_view text);

}  // namespace etmem
