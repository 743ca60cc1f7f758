// Small text helpers shared by the config-file check, the JSON writer and the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace etmem::cli {

// Length in bytes of the well-formed UTF-8 sequence starting at text[pos], or 0 when the
// bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF included).
std::size_t utf8SequenceLength(std::string_view text, std::size_t pos);

// Offset of the first byte that is not part of valid UTF-8; nullopt when all of it is.
std::optional<std::size_t> firstInvalidUtf8(std::string_view text);

// How many columns a terminal gives text: one per code point (good enough for names).
std::size_t displayWidth(std::string_view text);

// 1-based line number of byte offset pos.
std::size_t lineNumberAt(std::string_view text, std::size_t pos);

// "3.1 MiB", "512 B": bytes for people.
std::string humanBytes(std::uint64_t bytes);

// "850 ms", "1.20 s", "45 us": a duration for people.
std::string humanDuration(std::uint64_t microseconds);

}  // namespace etmem::cli
