// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/contract/bus_names.hpp"

#include <fmt/format.h>

#include <cstdint>

#include "etmem/contract/fnv1a.hpp"
#include "etmem/contract/utf8.hpp"

namespace etmem::bus {
namespace {

bool isAsciiAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string checkPrintableName(std::string_view what, std::string_view name, std::size_t max) {
    if (name.empty()) return fmt::format("{} name is empty", what);
    // Limits are in bytes (what a file name or sun_path holds), so the message says bytes.
    if (name.size() > max)
        return fmt::format("{} name is {} bytes long; at most {} bytes are allowed", what,
                           name.size(), max);
    // A D-Bus string must be UTF-8: a name the bus could not carry is never accepted (a
    // saved file holding one would otherwise keep etmemd from exporting its projects).
    if (auto bad = firstInvalidUtf8(name))
        return fmt::format("{} name is not UTF-8 text (byte 0x{:02x} at offset {})", what,
                           static_cast<unsigned char>(name[*bad]), *bad);
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f)
            return fmt::format("{} name contains a control character; use printable characters",
                               what);
    }
    return {};
}

}  // namespace

std::string checkInstanceName(std::string_view name) {
    return checkPrintableName("instance", name, kMaxInstanceNameLength);
}

std::string checkProjectName(std::string_view name) {
    std::string problem = checkPrintableName("project", name, kMaxProjectNameLength);
    if (problem.empty() && name.find('/') != std::string_view::npos)
        problem = "project name contains '/'; use letters, digits, '-', '_' or '.'";
    return problem;
}

std::string escapeLabel(std::string_view label) {
    if (label.empty()) return "_";
    std::string out;
    out.reserve(label.size());
    for (char c : label) {
        if (isAsciiAlnum(c))
            out += c;
        else
            out += fmt::format("_{:02x}", static_cast<unsigned char>(c));
    }
    return out;
}

std::string unescapeLabel(std::string_view escaped) {
    if (escaped == "_") return {};
    std::string out;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] == '_' && i + 2 < escaped.size() && hexValue(escaped[i + 1]) >= 0 &&
            hexValue(escaped[i + 2]) >= 0) {
            out += static_cast<char>(hexValue(escaped[i + 1]) * 16 + hexValue(escaped[i + 2]));
            i += 2;
        } else {
            out += escaped[i];
        }
    }
    return out;
}

std::string boundedLabel(std::string_view label, std::size_t maxLength) {
    std::string escaped = escapeLabel(label);
    if (escaped.size() <= maxLength) return escaped;
    std::string suffix = fmt::format("_h{:016x}", fnv1a64(label));
    escaped.resize(maxLength - suffix.size());
    // Never cut an escape sequence ("_xx") in half.
    if (auto cut = escaped.rfind('_'); cut != std::string::npos && cut + 3 > escaped.size())
        escaped.resize(cut);
    return escaped + suffix;
}

std::string busNameForInstance(std::string_view instance) {
    if (instance.empty()) return std::string(kDefaultBusName);
    // A bus name element may hold [A-Za-z0-9_-]; escaping keeps it within that, and the
    // leading "i_" keeps it from starting with a digit. A bus name has at most 255 bytes.
    const std::string prefix = fmt::format("{}.i_", kDefaultBusName);
    return prefix + boundedLabel(instance, 255 - prefix.size());
}

std::string projectObjectPath(std::string_view projectName) {
    return fmt::format("{}/{}", kProjectPathPrefix, escapeLabel(projectName));
}

}  // namespace etmem::bus
