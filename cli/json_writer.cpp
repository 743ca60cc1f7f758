// SPDX-License-Identifier: MulanPSL-2.0
#include "json_writer.hpp"

#include "text_util.hpp"

#include <fmt/format.h>

namespace etmem::cli {

std::string jsonQuote(std::string_view text) {
    std::string out = "\"";
    out.reserve(text.size() + 2);
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t length = utf8SequenceLength(text, pos);
        if (length == 0) {
            out += "\\ufffd";
            ++pos;
            continue;
        }
        if (length > 1) {
            out.append(text.substr(pos, length));
            pos += length;
            continue;
        }
        char c = text[pos++];
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
                else
                    out += c;
        }
    }
    out += '"';
    return out;
}

void JsonWriter::newlineAndIndent() {
    out_ += '\n';
    out_.append(levels_.size() * 2, ' ');
}

void JsonWriter::beforeValue() {
    if (afterKey_) {
        afterKey_ = false;
        return;
    }
    if (levels_.empty()) return;
    if (levels_.back().members++ > 0) out_ += ',';
    newlineAndIndent();
}

void JsonWriter::key(std::string_view name) {
    beforeValue();
    out_ += jsonQuote(name);
    out_ += ": ";
    afterKey_ = true;
}

void JsonWriter::open(char opener) {
    beforeValue();
    out_ += opener;
    levels_.push_back({opener == '{' ? '}' : ']'});
}

void JsonWriter::close(char closer) {
    bool hadMembers = levels_.back().members > 0;
    levels_.pop_back();
    if (hadMembers) newlineAndIndent();
    out_ += closer;
    if (levels_.empty()) out_ += '\n';
}

void JsonWriter::string(std::string_view text) {
    beforeValue();
    out_ += jsonQuote(text);
}

void JsonWriter::number(std::uint64_t value) {
    beforeValue();
    out_ += fmt::format("{}", value);
}

void JsonWriter::boolean(bool value) {
    beforeValue();
    out_ += value ? "true" : "false";
}

}  // namespace etmem::cli
