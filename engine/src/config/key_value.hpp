// SPDX-License-Identifier: MulanPSL-2.0
// The value checks every key reader shares (the validator's and each engine's key table),
// so a key's rejection reads the same whichever table the key comes from.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config_tree.hpp"

namespace etmem::config {

struct Range {
    std::uint64_t low;
    std::uint64_t high;
    std::string why;  // how the bounds come about, when they are not fixed
};

[[noreturn]] void fail(Position at, const std::string& path, std::string_view value,
                       const std::string& message);

// "a section of keys", "'value'", ... for messages.
std::string describe(const ConfigNode& node);

// "a, b and c".
std::string listKeys(std::span<const std::string_view> keys);

// The value as text, or a rejection saying it is no value, a list or a section.
std::string_view readScalar(const MapEntry& entry, const std::string& path,
                            const std::string& allowed);

enum class NumberShape { NotANumber, Negative, Whole };

// Decimal digits, optionally after '-'; the value saturates instead of overflowing.
NumberShape parseWhole(std::string_view text, std::uint64_t& value);

// A whole number within range.
std::uint64_t readNumber(const MapEntry& entry, const std::string& path, const Range& range);

// One given key of an engine's table: its value, where it is, and the project's settings a
// range may depend on.
class KeyValue {
  public:
    KeyValue(const MapEntry& entry, std::string path, unsigned loop)
        : entry_(entry), path_(std::move(path)), loop_(loop) {}

    std::string_view key() const { return entry_.key; }
    const std::string& path() const { return path_; }
    unsigned loop() const { return loop_; }  // the project's loop

    std::string_view text(const std::string& allowed) const {
        return readScalar(entry_, path_, allowed);
    }
    std::uint64_t number(const Range& range) const { return readNumber(entry_, path_, range); }
    // One of allowed: "value 'x' is not a known <key>; allowed a, b and c" otherwise.
    std::string_view choice(std::span<const std::string_view> allowed) const;
    // Rejects the value: message is the whole sentence after the key's path.
    [[noreturn]] void reject(std::string_view text, const std::string& message) const {
        fail(entry_.value.at, path_, text, message);
    }

  private:
    const MapEntry& entry_;
    std::string path_;
    unsigned loop_;
};

}  // namespace etmem::config
