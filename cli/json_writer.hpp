// SPDX-License-Identifier: MulanPSL-2.0
// A tiny pretty-printing JSON writer: enough for `project show --json`, no dependency.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace etmem::cli {

// text as a JSON string literal, quotes included. Bytes that are not valid UTF-8 become
// U+FFFD so the output is always valid JSON.
std::string jsonQuote(std::string_view text);

class JsonWriter {
  public:
    void beginObject() { open('{'); }
    void endObject() { close('}'); }
    void beginArray() { open('['); }
    void endArray() { close(']'); }
    // Inside an object, every value is preceded by its key.
    void key(std::string_view name);
    void string(std::string_view text);
    void number(std::uint64_t value);
    void boolean(bool value);

    // The document so far, ending with a newline once the outermost value is closed.
    const std::string& text() const { return out_; }

  private:
    struct Level {
        char closer;
        int members = 0;
    };
    void open(char opener);
    void close(char closer);
    void beforeValue();
    void newlineAndIndent();

    std::string out_;
    std::vector<Level> levels_;
    bool afterKey_ = false;
};

}  // namespace etmem::cli
