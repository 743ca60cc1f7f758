// SPDX-License-Identifier: MulanPSL-2.0
// Checks on the raw text that come before either reader, and helpers to show user text safely.
#pragma once

#include <string>
#include <string_view>

#include "config/config_tree.hpp"

namespace etmem::config {

// Rejects a text no reader should see: too large, NUL or control bytes, invalid UTF-8, or
// nothing but blanks and comments. Throws ConfigError.
void checkConfigText(std::string_view text);

// The line/column of a byte offset in text.
Position positionAt(std::string_view text, std::size_t offset);

// User text made safe for a one-line message: control bytes escaped, long text shortened.
std::string displayText(std::string_view text);

// True for a line that holds only blanks or a comment.
bool isBlankOrComment(std::string_view line);

// Calls visit(line, lineNumber) for every line, without its "\n" or trailing "\r".
template <typename Visit>
void forEachLine(std::string_view text, Visit&& visit) {
    int number = 1;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        visit(line, number++);
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

}  // namespace etmem::config
