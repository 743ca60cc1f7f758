// SPDX-License-Identifier: MulanPSL-2.0
#include "text_util.hpp"

#include <fmt/format.h>

#include <array>

namespace etmem::cli {

std::string printableCell(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const auto byte = static_cast<unsigned char>(text[pos]);
        const std::size_t length = utf8SequenceLength(text, pos);
        // C1 controls are the two-byte sequences C2 80 .. C2 9F.
        const bool c1 =
            length == 2 && byte == 0xC2 && static_cast<unsigned char>(text[pos + 1]) <= 0x9F;
        if (length == 0 || c1 || byte < 0x20 || byte == 0x7F) {
            out += '?';
            pos += length == 0 ? 1 : length;
            continue;
        }
        out.append(text, pos, length);
        pos += length;
    }
    return out;
}

std::size_t displayWidth(std::string_view text) {
    std::size_t width = 0;
    for (unsigned char c : text) {
        if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
    }
    return width;
}

std::size_t lineNumberAt(std::string_view text, std::size_t pos) {
    std::size_t line = 1;
    for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
        if (text[i] == '\n') ++line;
    }
    return line;
}

std::string humanBytes(std::uint64_t bytes) {
    // Up to EiB: a 64-bit byte count never reaches 1024 EiB.
    constexpr std::array<const char*, 7> kUnits = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return fmt::format("{} B", bytes);
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < kUnits.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string humanDuration(std::uint64_t microseconds) {
    if (microseconds < 1000) return fmt::format("{} us", microseconds);
    if (microseconds < 1000 * 1000) return fmt::format("{} ms", microseconds / 1000);
    return fmt::format("{:.2f} s", static_cast<double>(microseconds) / 1e6);
}

}  // namespace etmem::cli
