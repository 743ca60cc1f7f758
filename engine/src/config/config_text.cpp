// SPDX-License-Identifier: MulanPSL-2.0
#include "config/config_text.hpp"

#include <fmt/format.h>

#include "etmem/config.hpp"

namespace etmem::config {
namespace {

constexpr std::size_t kMaxShownBytes = 60;

// Length of the UTF-8 sequence starting at text[offset], or 0 when it is not valid UTF-8
// (bad lead byte, truncated, overlong, a surrogate, or beyond U+10FFFF).
std::size_t utf8SequenceLength(std::string_view text, std::size_t offset) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[offset + i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return 0;
    }
    if (offset + length > text.size()) return 0;
    if (byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    }
    return length;
}

bool isForbiddenControl(unsigned char c) {
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

[[noreturn]] void failAt(std::string_view text, std::size_t offset, const std::string& message) {
    const Position at = positionAt(text, offset);
    throw ConfigError(at.line, at.column, "", "", message);
}

void checkBytes(std::string_view text) {
    for (std::size_t offset = 0; offset < text.size();) {
        const auto c = static_cast<unsigned char>(text[offset]);
        if (c == 0) failAt(text, offset, "a NUL byte (0x00) is not allowed; a config is text");
        if (c == '\r' && (offset + 1 == text.size() || text[offset + 1] != '\n')) {
            failAt(text, offset,
                   "a carriage return (CR) that ends no CRLF: the file has CR-only (classic "
                   "Mac) line endings; save it with LF line endings");
        }
        if (isForbiddenControl(c)) {
            failAt(text, offset,
                   fmt::format("control byte 0x{:02X} is not allowed; a config is text", c));
        }
        const std::size_t length = utf8SequenceLength(text, offset);
        if (length == 0) {
            failAt(text, offset,
                   fmt::format("byte 0x{:02X} is not valid UTF-8; a config must be UTF-8 text", c));
        }
        offset += length;
    }
}

// yaml-cpp keeps state per open flow collection: 1 MiB of '[' peaks at ~240 MiB before it
// gives up. No etmem config nests more than a couple of levels, so deeper nesting is refused
// before the parser sees it (brackets in comments do not count; in quoted text they do,
// which only a config no one writes would notice).
constexpr int kMaxFlowDepth = 32;

void checkFlowDepth(std::string_view text) {
    int depth = 0;
    bool comment = false;
    for (std::size_t offset = 0; offset < text.size(); ++offset) {
        const char c = text[offset];
        if (c == '\n') comment = false;
        if (comment) continue;
        if (c == '#' && (offset == 0 || text[offset - 1] == ' ' || text[offset - 1] == '\t' ||
                         text[offset - 1] == '\n')) {
            comment = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxFlowDepth) {
                failAt(text, offset,
                       fmt::format("lists or maps nested deeper than {} levels; an etmem config "
                                   "needs two",
                                   kMaxFlowDepth));
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}

bool hasContent(std::string_view text) {
    bool found = false;
    forEachLine(text,
                [&](std::string_view line, int) { found = found || !isBlankOrComment(line); });
    return found;
}

}  // namespace

void checkConfigText(std::string_view text) {
    if (text.size() > kMaxConfigBytes) {
        throw ConfigError(
            0, 0, "", "",
            fmt::format("the config is {} bytes; at most {} bytes (1 MiB) are allowed", text.size(),
                        kMaxConfigBytes));
    }
    checkBytes(text);
    checkFlowDepth(text);
    if (!hasContent(text)) {
        throw ConfigError(0, 0, "", "",
                          "the config is empty; it needs an 'options:' section with loop, "
                          "interval, sleep and policies");
    }
}

Position positionAt(std::string_view text, std::size_t offset) {
    Position at{1, 1};
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++at.line;
            at.column = 1;
        } else {
            ++at.column;
        }
    }
    return at;
}

std::string displayText(std::string_view text) {
    std::string shown;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (shown.size() >= kMaxShownBytes) {
            // Cut at a character boundary so the message stays valid UTF-8.
            while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
                shown += text[i++];
            }
            if (i < text.size()) shown += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7F) {
            shown += fmt::format("\\x{:02X}", c);
        } else {
            shown += text[i];
        }
    }
    return shown;
}

bool isBlankOrComment(std::string_view line) {
    const std::size_t first = line.find_first_not_of(" \t");
    return first == std::string_view::npos || line[first] == '#';
}

}  // namespace etmem::config
