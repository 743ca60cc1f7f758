// SPDX-License-Identifier: MulanPSL-2.0
// Small text helpers shared by the config-file check, the JSON writer and the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "etmem/contract/utf8.hpp"

namespace etmem::cli {

// utf8SequenceLength, firstInvalidUtf8: the contract's (what a D-Bus string may carry).
using etmem::firstInvalidUtf8;
using etmem::utf8SequenceLength;

// Text for one table cell: every control character a terminal acts on is shown as '?' —
// ASCII's (C0, DEL) and Unicode's C1 (U+0080..U+009F, e.g. U+009B, a CSI), as is a byte
// that is not UTF-8 (a terminal may read it as C1 too).
std::string printableCell(std::string_view text);

// How many columns a terminal gives text: one per code point (good enough for names).
std::size_t displayWidth(std::string_view text);

// 1-based line number of byte offset pos.
std::size_t lineNumberAt(std::string_view text, std::size_t pos);

// "3.1 MiB", "512 B": bytes for people.
std::string humanBytes(std::uint64_t bytes);

// "850 ms", "1.20 s", "45 us": a duration for people.
std::string humanDuration(std::uint64_t microseconds);

}  // namespace etmem::cli
