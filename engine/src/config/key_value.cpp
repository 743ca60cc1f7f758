// SPDX-License-Identifier: MulanPSL-2.0
#include "config/key_value.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "config/config_text.hpp"
#include "etmem/config.hpp"

namespace etmem::config {

void fail(Position at, const std::string& path, std::string_view value,
          const std::string& message) {
    throw ConfigError(at.line, at.column, path, displayText(value), message);
}

std::string describe(const ConfigNode& node) {
    switch (node.kind) {
        case ConfigNode::Kind::Null:
            return "no value";
        case ConfigNode::Kind::Scalar:
            return "'" + displayText(node.scalar) + "'";
        case ConfigNode::Kind::Map:
            return "a section of keys";
        case ConfigNode::Kind::Sequence:
            return "a list";
    }
    return "?";
}

std::string listKeys(std::span<const std::string_view> keys) {
    std::string list;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        list += (i == 0 ? "" : (i + 1 == keys.size() ? " and " : ", ")) + std::string(keys[i]);
    }
    return list;
}

std::string_view readScalar(const MapEntry& entry, const std::string& path,
                            const std::string& allowed) {
    const ConfigNode& value = entry.value;
    if (value.kind == ConfigNode::Kind::Scalar) return value.scalar;
    const std::string got =
        value.kind == ConfigNode::Kind::Null ? "no value" : "value is " + describe(value);
    fail(value.at, path, "", fmt::format("{}; allowed {}", got, allowed));
}

NumberShape parseWhole(std::string_view text, std::uint64_t& value) {
    const bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    if (text.empty()) return NumberShape::NotANumber;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return NumberShape::NotANumber;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
        value = value > (limit - digit) / 10 ? limit : value * 10 + digit;
    }
    return negative ? NumberShape::Negative : NumberShape::Whole;
}

std::uint64_t readNumber(const MapEntry& entry, const std::string& path, const Range& range) {
    const std::string allowed = fmt::format("{}..{}{}", range.low, range.high, range.why);
    const std::string_view text = readScalar(entry, path, allowed);
    std::uint64_t value = 0;
    const NumberShape shape = parseWhole(text, value);
    if (shape == NumberShape::NotANumber) {
        fail(entry.value.at, path, text,
             fmt::format("value '{}' is not a whole number; allowed {}", displayText(text),
                         allowed));
    }
    if (shape == NumberShape::Negative || value < range.low || value > range.high) {
        fail(entry.value.at, path, text,
             fmt::format("value {} is out of range; allowed {}", displayText(text), allowed));
    }
    return value;
}

std::string_view KeyValue::choice(std::span<const std::string_view> allowed) const {
    const std::string choices = listKeys(allowed);
    const std::string_view given = text(choices);
    if (std::find(allowed.begin(), allowed.end(), given) == allowed.end()) {
        reject(given, fmt::format("value '{}' is not a known {}; allowed {}", displayText(given),
                                  key(), choices));
    }
    return given;
}

}  // namespace etmem::config
