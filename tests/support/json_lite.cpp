// SPDX-License-Identifier: MulanPSL-2.0
#include "json_lite.hpp"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace etmem::test {
namespace {

class Reader {
  public:
    explicit Reader(std::string_view text) : text_(text) {}

    JsonValue document() {
        JsonValue value = parseValue(0);
        skipSpace();
        if (pos_ != text_.size()) fail("trailing characters");
        return value;
    }

  private:
    static constexpr int kMaxDepth = 200;

    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error(why + " at offset " + std::to_string(pos_));
    }
    void skipSpace() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }
    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    void literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) fail("bad literal");
        pos_ += word.size();
    }

    JsonValue parseValue(int depth) {
        if (depth > kMaxDepth) fail("nesting too deep");
        skipSpace();
        JsonValue value;
        switch (peek()) {
            case '{':
                parseObject(value, depth);
                break;
            case '[':
                parseArray(value, depth);
                break;
            case '"':
                value.kind = JsonValue::Kind::String;
                value.string = parseString();
                break;
            case 't':
                literal("true"), value.kind = JsonValue::Kind::Bool, value.boolean = true;
                break;
            case 'f':
                literal("false"), value.kind = JsonValue::Kind::Bool;
                break;
            case 'n':
                literal("null");
                break;
            default:
                parseNumber(value);
        }
        return value;
    }

    void parseObject(JsonValue& value, int depth) {
        value.kind = JsonValue::Kind::Object;
        expect('{');
        skipSpace();
        if (peek() == '}') {
            ++pos_;
            return;
        }
        for (;;) {
            skipSpace();
            std::string key = parseString();
            skipSpace();
            expect(':');
            value.members.emplace_back(std::move(key), parseValue(depth + 1));
            skipSpace();
            if (peek() == '}') {
                ++pos_;
                return;
            }
            expect(',');
        }
    }

    void parseArray(JsonValue& value, int depth) {
        value.kind = JsonValue::Kind::Array;
        expect('[');
        skipSpace();
        if (peek() == ']') {
            ++pos_;
            return;
        }
        for (;;) {
            value.items.push_back(parseValue(depth + 1));
            skipSpace();
            if (peek() == ']') {
                ++pos_;
                return;
            }
            expect(',');
        }
    }

    void appendUtf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xc0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3f));
        } else {
            out += static_cast<char>(0xe0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (code & 0x3f));
        }
    }

    std::string parseString() {
        expect('"');
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) fail("unterminated string");
            char c = text_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            char escape = peek();
            ++pos_;
            switch (escape) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    if (pos_ + 4 > text_.size()) fail("short \\u escape");
                    std::string hex(text_.substr(pos_, 4));
                    for (char h : hex)
                        if (!std::isxdigit(static_cast<unsigned char>(h))) fail("bad \\u escape");
                    appendUtf8(out, static_cast<unsigned>(std::strtoul(hex.c_str(), nullptr, 16)));
                    pos_ += 4;
                    break;
                }
                default:
                    fail("bad escape");
            }
        }
    }

    void parseNumber(JsonValue& value) {
        std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("unexpected character");
        while (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.' || peek() == 'e' ||
               peek() == 'E' || peek() == '+' || peek() == '-')
            ++pos_;
        std::string number(text_.substr(start, pos_ - start));
        char* end = nullptr;
        value.kind = JsonValue::Kind::Number;
        value.number = std::strtod(number.c_str(), &end);
        if (end != number.c_str() + number.size()) fail("bad number");
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::member(std::string_view key) const {
    for (const auto& [name, value] : members)
        if (name == key) return &value;
    return nullptr;
}

bool JsonValue::containsString(std::string_view text) const {
    if (kind == Kind::String) return string == text;
    for (const auto& item : items)
        if (item.containsString(text)) return true;
    for (const auto& [name, value] : members)
        if (value.containsString(text)) return true;
    return false;
}

std::optional<JsonValue> parseJson(std::string_view text, std::string* error) {
    try {
        return Reader(text).document();
    } catch (const std::exception& e) {
        if (error != nullptr) *error = e.what();
        return std::nullopt;
    }
}

}  // namespace etmem::test
