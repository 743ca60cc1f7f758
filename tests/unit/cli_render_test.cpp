// `etmem project show` output: the table for people and the JSON for scripts.
#include "json_writer.hpp"
#include "render.hpp"
#include "text_util.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace etmem::cli {
namespace {

// A strict little JSON reader for the tests: checks the document is valid JSON and decodes
// strings, so escaping is verified by round trip instead of by comparing to a copy of the
// writer's own rules.
class JsonReader {
  public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    // Every string value found, decoded, in document order; nullopt if invalid JSON.
    std::optional<std::vector<std::string>> strings() {
        std::vector<std::string> found;
        if (!value(found)) return std::nullopt;
        skipSpace();
        if (pos_ != text_.size()) return std::nullopt;
        return found;
    }

  private:
    void skipSpace() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n')) ++pos_;
    }
    bool eat(char c) {
        skipSpace();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool value(std::vector<std::string>& found) {
        skipSpace();
        if (pos_ >= text_.size()) return false;
        char c = text_[pos_];
        if (c == '{') return container(found, '}', true);
        if (c == '[') return container(found, ']', false);
        if (c == '"') {
            std::string s;
            if (!string(s)) return false;
            found.push_back(s);
            return true;
        }
        if (text_.substr(pos_).starts_with("true")) return pos_ += 4, true;
        if (text_.substr(pos_).starts_with("false")) return pos_ += 5, true;
        std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        return pos_ > start;
    }
    bool container(std::vector<std::string>& found, char closer, bool isObject) {
        ++pos_;
        if (eat(closer)) return true;
        do {
            if (isObject) {
                std::string key;
                skipSpace();
                if (!string(key) || !eat(':')) return false;
            }
            if (!value(found)) return false;
        } while (eat(','));
        return eat(closer);
    }
    bool string(std::string& out) {
        if (pos_ >= text_.size() || text_[pos_] != '"') return false;
        ++pos_;
        while (pos_ < text_.size()) {
            unsigned char c = static_cast<unsigned char>(text_[pos_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;  // raw control characters are not allowed
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (pos_ >= text_.size()) return false;
            char e = text_[pos_++];
            switch (e) {
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
                    if (pos_ + 4 > text_.size()) return false;
                    unsigned code = std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16);
                    pos_ += 4;
                    appendUtf8(out, code);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;
    }
    static void appendUtf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

ProjectInfo sampleProject(std::string name) {
    ProjectInfo p;
    p.name = std::move(name);
    p.state = "running";
    p.loop = 3;
    p.interval = 1;
    p.sleep = 2;
    p.tasks = {{"pid", "123456", 3, "slide", 3}, {"name", "mysqld", 1, "slide", 2}};
    p.pids = {123456, 7};
    p.cycles = 12;
    return p;
}

std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

TEST(CliJson, QuoteEscapesWhatJsonRequires) {
    EXPECT_EQ(jsonQuote("plain"), "\"plain\"");
    EXPECT_EQ(jsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(jsonQuote("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
    EXPECT_EQ(jsonQuote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
    EXPECT_EQ(jsonQuote(std::string("nul\0in", 6)), "\"nul\\u0000in\"");
    EXPECT_EQ(jsonQuote("caf\xc3\xa9 \xe2\x82\xac"), "\"caf\xc3\xa9 \xe2\x82\xac\"");
}

TEST(CliJson, InvalidUtf8BecomesReplacementCharacter) {
    EXPECT_EQ(jsonQuote("a\xff"
                        "b"),
              "\"a\\ufffdb\"");
    EXPECT_EQ(jsonQuote("\xc3"), "\"\\ufffd\"");                        // truncated sequence
    EXPECT_EQ(jsonQuote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");             // overlong '/'
    EXPECT_EQ(jsonQuote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
}

TEST(CliJson, WriterNestsAndSeparates) {
    JsonWriter json;
    json.beginObject();
    json.key("a");
    json.number(1);
    json.key("list");
    json.beginArray();
    json.string("x");
    json.boolean(true);
    json.endArray();
    json.key("empty");
    json.beginArray();
    json.endArray();
    json.endObject();
    EXPECT_EQ(json.text(),
              "{\n  \"a\": 1,\n  \"list\": [\n    \"x\",\n    true\n  ],\n  \"empty\": []\n}\n");
}

TEST(CliRenderJson, EmptyListIsAnEmptyArray) {
    EXPECT_EQ(renderJson({}), "[]\n");
}

TEST(CliRenderJson, OddProjectNamesRoundTrip) {
    std::vector<std::string> names = {"quote\"d", "back\\slash",       "tab\there", "new\nline",
                                      "\x01\x02", "\xc3\xa9t\xc3\xa9", "</script>", "{\"json\":1}"};
    std::vector<ProjectInfo> projects;
    for (const auto& name : names) projects.push_back(sampleProject(name));
    std::string json = renderJson(projects);
    auto strings = JsonReader(json).strings();
    ASSERT_TRUE(strings.has_value()) << json;
    for (const auto& name : names) {
        EXPECT_NE(std::find(strings->begin(), strings->end(), name), strings->end()) << name;
    }
}

TEST(CliRenderJson, CarriesEveryField) {
    ProjectInfo p = sampleProject("p");
    p.pagesScanned = 1000;
    p.pagesHot = 200;
    p.pagesCold = 800;
    p.pagesSwapped = 700;
    p.bytesSwapped = 700 * 4096;
    p.lastCycleUSec = 1203000;
    p.totalPagesSwapped = 5000;
    p.totalBytesSwapped = 5000 * 4096;
    p.lastError = "no swap device is active";
    std::string json = renderJson({p});
    ASSERT_TRUE(JsonReader(json).strings().has_value()) << json;
    for (std::string_view expected : {"\"name\": \"p\"",
                                      "\"state\": \"running\"",
                                      "\"loop\": 3",
                                      "\"interval\": 1",
                                      "\"sleep\": 2",
                                      "\"type\": \"pid\"",
                                      "\"value\": \"123456\"",
                                      "\"max_threads\": 3",
                                      "\"engine\": \"slide\"",
                                      "\"T\": 3",
                                      "\"value\": \"mysqld\"",
                                      "123456",
                                      "\"cycles\": 12",
                                      "\"pages_scanned\": 1000",
                                      "\"pages_hot\": 200",
                                      "\"pages_cold\": 800",
                                      "\"pages_swapped\": 700",
                                      "\"bytes_swapped\": 2867200",
                                      "\"last_cycle_usec\": 1203000",
                                      "\"total_pages_swapped\": 5000",
                                      "\"total_bytes_swapped\": 20480000",
                                      "\"last_error\": \"no swap device is active\""}) {
        EXPECT_NE(json.find(expected), std::string::npos) << expected << "\n" << json;
    }
}

TEST(CliRenderTable, NoProjectsSaysHowToAddOne) {
    EXPECT_NE(renderTable({}).find("etmem project add"), std::string::npos);
}

TEST(CliRenderTable, ColumnsAlignAndTasksGetOneRowEach) {
    ProjectInfo quiet = sampleProject("a-much-longer-project-name");
    quiet.state = "stopped";
    quiet.tasks = {{"pid", "42", 1, "slide", 1}};
    quiet.pids = {};
    quiet.cycles = 0;
    std::vector<std::string> lines = linesOf(renderTable({sampleProject("test"), quiet}));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_TRUE(lines[0].starts_with("PROJECT"));
    // Every column starts at the same offset in every row.
    for (std::string_view column : {"STATE", "CYCLES", "TYPE", "VALUE", "ENGINE", "PIDS"}) {
        EXPECT_NE(lines[0].find(column), std::string::npos) << column;
    }
    std::size_t stateAt = lines[0].find("STATE");
    std::size_t typeAt = lines[0].find("TYPE");
    std::size_t valueAt = lines[0].find("VALUE");
    std::size_t pidsAt = lines[0].find("PIDS");
    EXPECT_EQ(lines[1].find("running"), stateAt);
    EXPECT_EQ(lines[1].find("pid "), typeAt);
    EXPECT_EQ(lines[1].find("123456  "), valueAt);
    EXPECT_EQ(lines[1].find("123456,7"), pidsAt);
    // The second task of "test": only task columns.
    EXPECT_EQ(lines[2].find_first_not_of(' '), typeAt);
    EXPECT_EQ(lines[2].find("mysqld"), valueAt);
    EXPECT_EQ(lines[3].find("a-much-longer-project-name"), 0u);
    EXPECT_EQ(lines[3].find("stopped"), stateAt);
    EXPECT_EQ(lines[3].find('-', pidsAt), pidsAt);
    for (const auto& line : lines) EXPECT_NE(line.back(), ' ') << "trailing space: " << line;
}

TEST(CliRenderTable, StatisticsAndLastErrorUnderTheProject) {
    ProjectInfo p = sampleProject("p");
    std::string before = renderTable({p});
    EXPECT_EQ(before.find("last cycle"), std::string::npos) << "no statistics yet";
    EXPECT_EQ(before.find("last error"), std::string::npos);
    p.pagesScanned = 1000;
    p.pagesHot = 200;
    p.pagesCold = 800;
    p.pagesSwapped = 800;
    p.bytesSwapped = 800 * 4096;
    p.lastCycleUSec = 1'500'000;
    p.totalPagesSwapped = 4000;
    p.totalBytesSwapped = 4000 * 4096;
    p.lastError = "no swap device is active";
    std::vector<std::string> lines = linesOf(renderTable({p}));
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[3],
              "  last cycle: 1000 pages scanned, 200 hot, 800 cold, 800 swapped out (3.1 MiB) in "
              "1.50 s; since start: 4000 pages (15.6 MiB) swapped out");
    EXPECT_EQ(lines[4], "  last error: no swap device is active");
}

TEST(CliRenderTable, ProjectWithoutTasksAndControlCharacters) {
    ProjectInfo p = sampleProject("bad\nname");
    p.tasks.clear();
    std::vector<std::string> lines = linesOf(renderTable({p}));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[1].starts_with("bad?name")) << lines[1];
    EXPECT_EQ(lines[1].find('-', lines[0].find("TYPE")), lines[0].find("TYPE"));
}

TEST(CliRenderTable, LongPidListIsShortened) {
    ProjectInfo p = sampleProject("p");
    p.pids.clear();
    for (std::uint32_t pid = 100; pid < 120; ++pid) p.pids.push_back(pid);
    std::string table = renderTable({p});
    EXPECT_NE(table.find("100,101,102,103,104,105,106,107 (+12 more)"), std::string::npos) << table;
    EXPECT_EQ(table.find("108"), std::string::npos);
}

TEST(CliRenderTable, WideCharactersCountAsOneColumn) {
    ProjectInfo p = sampleProject("\xc3\xa9t\xc3\xa9");  // "été": 3 columns, 5 bytes
    std::vector<std::string> lines = linesOf(renderTable({p}));
    EXPECT_EQ(displayWidth(lines[1].substr(0, lines[1].find("running"))), lines[0].find("STATE"));
}

TEST(CliTextUtil, Utf8Validation) {
    EXPECT_FALSE(firstInvalidUtf8("plain \xc3\xa9 \xf0\x9f\x98\x80").has_value());
    EXPECT_EQ(firstInvalidUtf8("ab\xff"), 2u);
    EXPECT_EQ(firstInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
    EXPECT_EQ(firstInvalidUtf8("\xe0\x80\x80"), 0u);      // overlong
}

TEST(CliTextUtil, HumanUnits) {
    EXPECT_EQ(humanBytes(0), "0 B");
    EXPECT_EQ(humanBytes(1023), "1023 B");
    EXPECT_EQ(humanBytes(1536), "1.5 KiB");
    EXPECT_EQ(humanBytes(3ull << 30), "3.0 GiB");
    EXPECT_EQ(humanDuration(45), "45 us");
    EXPECT_EQ(humanDuration(850'000), "850 ms");
    EXPECT_EQ(humanDuration(1'203'000), "1.20 s");
    EXPECT_EQ(lineNumberAt("a\nb\nc", 4), 3u);
}

}  // namespace
}  // namespace etmem::cli
