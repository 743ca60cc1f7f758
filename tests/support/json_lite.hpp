// SPDX-License-Identifier: MulanPSL-2.0
// A strict, small JSON reader: enough for tests to check that `etmem project show --json`
// prints well-formed JSON and to look values up in it. Not a general-purpose library.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace etmem::test {

struct JsonValue {
    enum class Kind { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<JsonValue> items;                            // Array
    std::vector<std::pair<std::string, JsonValue>> members;  // Object, in document order

    const JsonValue* member(std::string_view key) const;
    // True if a string equal to `text` occurs anywhere in this value.
    bool containsString(std::string_view text) const;
};

// The parsed document, or nullopt with a reason in *error.
std::optional<JsonValue> parseJson(std::string_view text, std::string* error = nullptr);

}  // namespace etmem::test
