// SPDX-License-Identifier: MulanPSL-2.0
// `etmem project show` output: the table for people and the JSON for scripts.
#include "json_writer.hpp"
#include "render.hpp"
#include "text_util.hpp"

#include "json_lite.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace etmem::cli {
namespace {

ProjectInfo sampleProject(std::string name) {
    ProjectInfo p;
    p.name = std::move(name);
    p.state = "running";
    p.loop = 3;
    p.interval = 1;
    p.sleep = 2;
    p.tasks = {{"pid", "123456", 3, "slide", 3}, {"name", "mysqld", 1, "slide", 2}};
    p.stats.pids = {123456, 7};
    p.stats.cycles = 12;
    return p;
}

// The JSON without the pretty-printing whitespace, so a test can look for a whole
// structure ("histogram":[1,2]) whatever its indentation.
std::string compact(std::string_view json) {
    std::string out;
    bool inString = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        char c = json[i];
        if (inString && c == '\\') {
            out += c;
            out += json[++i];
            continue;
        }
        if (c == '"') inString = !inString;
        if (inString || (c != ' ' && c != '\n')) out += c;
    }
    return out;
}

// n tasks (T = 1..n), each with its statistics; the project's are their sums.
ProjectInfo projectWithTaskStatistics(std::size_t n) {
    ProjectInfo p = sampleProject("p");
    p.tasks.clear();
    p.stats = Statistics{};
    p.stats.cycles = 4;
    p.stats.scanner = "idle-page";
    p.stats.swapper = "madvise";
    p.stats.histogram.assign(7, 0);
    for (std::size_t t = 0; t < n; ++t) {
        auto pid = static_cast<std::uint32_t>(500 + t);
        p.tasks.push_back({"pid", std::to_string(pid), 1, "slide", static_cast<unsigned>(t + 1)});
        TaskStatistics task;
        task.task = "pid:" + std::to_string(pid);
        task.stats.pids = {pid};
        task.stats.cycles = 4;
        task.stats.pagesScanned = 10 * (t + 1);
        task.stats.pagesSwapped = t;
        task.stats.bytesSwapped = t * 4096;
        task.stats.scanner = "idle-page";
        task.stats.swapper = "madvise";
        task.stats.histogram = {10 * (t + 1), 0, 0, 0, 0, 0, t};
        for (std::size_t k = 0; k < 7; ++k) p.stats.histogram[k] += task.stats.histogram[k];
        p.stats.pids.push_back(pid);
        p.taskStatistics.push_back(task);
    }
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
    // Decoding by a separate JSON reader checks the escaping by round trip, not against a
    // copy of the writer's own rules.
    auto document = test::parseJson(json);
    ASSERT_TRUE(document.has_value()) << json;
    for (const auto& name : names) EXPECT_TRUE(document->containsString(name)) << name;
}

TEST(CliRenderJson, CarriesEveryField) {
    ProjectInfo p = sampleProject("p");
    p.stats.pagesScanned = 1000;
    p.stats.pagesHot = 200;
    p.stats.pagesCold = 800;
    p.stats.pagesSwapped = 700;
    p.stats.bytesSwapped = 700 * 4096;
    p.stats.lastCycleUSec = 1203000;
    p.stats.totalPagesSwapped = 5000;
    p.stats.totalBytesSwapped = 5000 * 4096;
    p.stats.lastError = "no swap device is active";
    p.stats.scanner = "idle-page";
    p.stats.swapper = "madvise";
    p.stats.histogram = {300, 200, 0, 500};
    std::string json = renderJson({p});
    ASSERT_TRUE(test::parseJson(json).has_value()) << json;
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
                                      "\"last_error\": \"no swap device is active\"",
                                      "\"scanner\": \"idle-page\"",
                                      "\"swapper\": \"madvise\"",
                                      "\"histogram\": ["}) {
        EXPECT_NE(json.find(expected), std::string::npos) << expected << "\n" << json;
    }
}

TEST(CliRenderJson, OneTaskCarriesItsStatisticsAndHistogram) {
    std::string json = compact(renderJson({projectWithTaskStatistics(1)}));
    ASSERT_TRUE(test::parseJson(json).has_value()) << json;
    EXPECT_NE(json.find("\"tasks\":[{\"type\":\"pid\",\"value\":\"500\",\"max_threads\":1,"
                        "\"engine\":\"slide\",\"T\":1,\"task\":\"pid:500\",\"pids\":[500],"
                        "\"cycles\":4,\"pages_scanned\":10,"),
              std::string::npos)
        << json;
    // The task's histogram and then the project's (the same with one task).
    EXPECT_NE(json.find("\"last_error\":\"\",\"histogram\":[10,0,0,0,0,0,0]}],\"pids\":[500]"),
              std::string::npos)
        << json;
    EXPECT_TRUE(
        json.ends_with("\"scanner\":\"idle-page\",\"swapper\":\"madvise\",\"last_"
                       "error\":\"\",\"histogram\":[10,0,0,0,0,0,0]}]"))
        << json;
}

TEST(CliRenderJson, EveryTaskInConfigOrder) {
    std::string json = compact(renderJson({projectWithTaskStatistics(3)}));
    ASSERT_TRUE(test::parseJson(json).has_value()) << json;
    std::size_t previous = 0;
    for (std::size_t t = 0; t < 3; ++t) {
        std::string task = fmt::format(
            "\"T\":{},\"task\":\"pid:{}\",\"pids\":[{}],\"cycles\":4,\"pages_scanned\":{},", t + 1,
            500 + t, 500 + t, 10 * (t + 1));
        std::size_t at = json.find(task);
        ASSERT_NE(at, std::string::npos) << task << "\n" << json;
        EXPECT_GT(at, previous) << "config order";
        previous = at;
        EXPECT_NE(
            json.find(fmt::format("\"pages_swapped\":{},\"bytes_swapped\":{},", t, t * 4096), at),
            std::string::npos);
        EXPECT_NE(json.find(fmt::format("\"histogram\":[{},0,0,0,0,0,{}]}}", 10 * (t + 1), t), at),
                  std::string::npos)
            << json;
    }
    EXPECT_NE(json.find("\"pids\":[500,501,502],\"cycles\":4,"), std::string::npos);
    EXPECT_TRUE(json.ends_with("\"histogram\":[60,0,0,0,0,0,3]}]")) << json;
}

TEST(CliRenderJson, OlderDaemonTasksCarryTheirConfigOnly) {
    ProjectInfo p = sampleProject("p");  // no TaskStatistics, no Histogram
    std::string json = compact(renderJson({p}));
    ASSERT_TRUE(test::parseJson(json).has_value()) << json;
    EXPECT_NE(json.find("{\"type\":\"pid\",\"value\":\"123456\",\"max_threads\":3,"
                        "\"engine\":\"slide\",\"T\":3},"),
              std::string::npos)
        << json;
    EXPECT_EQ(json.find("\"task\":"), std::string::npos);
    EXPECT_NE(json.find("\"scanner\":\"\",\"swapper\":\"\""), std::string::npos);
    EXPECT_NE(json.find("\"histogram\":[]"), std::string::npos);
}

TEST(CliRenderJson, LargeNumbersAreExact) {
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    ProjectInfo p = projectWithTaskStatistics(1);
    p.stats.totalBytesSwapped = kMax;
    p.stats.histogram = {kMax, 0, kMax - 1};
    p.taskStatistics[0].stats.totalPagesSwapped = kMax;
    std::string json = compact(renderJson({p}));
    ASSERT_TRUE(test::parseJson(json).has_value()) << json;
    EXPECT_NE(json.find("\"total_bytes_swapped\":18446744073709551615,"), std::string::npos);
    EXPECT_NE(json.find("\"total_pages_swapped\":18446744073709551615,"), std::string::npos);
    EXPECT_NE(json.find("\"histogram\":[18446744073709551615,0,18446744073709551614]"),
              std::string::npos)
        << json;
}

TEST(CliRenderTable, NoProjectsSaysHowToAddOne) {
    EXPECT_NE(renderTable({}).find("etmem project add"), std::string::npos);
}

TEST(CliRenderTable, ColumnsAlignAndTasksGetOneRowEach) {
    ProjectInfo busy = sampleProject("test");
    busy.stats.cycles = 0;
    ProjectInfo quiet = sampleProject("a-much-longer-project-name");
    quiet.state = "stopped";
    quiet.tasks = {{"pid", "42", 1, "slide", 1}};
    quiet.stats.pids = {};
    quiet.stats.cycles = 0;
    std::vector<std::string> lines = linesOf(renderTable({busy, quiet}));
    ASSERT_EQ(lines.size(), 6u);
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
    EXPECT_EQ(lines[3], "  no cycle finished yet");
    EXPECT_EQ(lines[4].find("a-much-longer-project-name"), 0u);
    EXPECT_EQ(lines[4].find("stopped"), stateAt);
    EXPECT_EQ(lines[4].find('-', pidsAt), pidsAt);
    EXPECT_EQ(lines[5], "  no cycle finished yet");
    for (const auto& line : lines) EXPECT_NE(line.back(), ' ') << "trailing space: " << line;
}

TEST(CliRenderTable, StatisticsAndLastErrorUnderTheProject) {
    ProjectInfo p = sampleProject("p");
    p.stats.cycles = 0;
    std::string before = renderTable({p});
    EXPECT_EQ(before.find("last cycle"), std::string::npos) << "no statistics yet";
    EXPECT_EQ(before.find("last error"), std::string::npos);
    p.stats.cycles = 12;
    p.stats.pagesScanned = 1000;
    p.stats.pagesHot = 200;
    p.stats.pagesCold = 800;
    p.stats.pagesSwapped = 800;
    p.stats.bytesSwapped = 800 * 4096;
    p.stats.lastCycleUSec = 1'500'000;
    p.stats.totalPagesSwapped = 4000;
    p.stats.totalBytesSwapped = 4000 * 4096;
    p.stats.scanner = "idle-page";
    p.stats.swapper = "madvise";
    p.stats.lastError = "no swap device is active";
    std::vector<std::string> lines = linesOf(renderTable({p}));
    ASSERT_GE(lines.size(), 8u);
    EXPECT_EQ(lines[3],
              "  last cycle:    1000 pages scanned, 200 hot, 800 cold; 800 swapped out (3.1 MiB) "
              "in 1.50 s");
    EXPECT_EQ(lines[4], "  since start:   4000 pages swapped out (15.6 MiB) in 12 cycles");
    EXPECT_EQ(lines[5], "  backends:      scanner idle-page, swapper madvise");
    EXPECT_EQ(lines[6], "  last error:    no swap device is active");
    EXPECT_EQ(lines[7], "  access counts: none reported for the last cycle");
}

TEST(CliRenderTable, ProjectWithoutTasksAndControlCharacters) {
    ProjectInfo p = sampleProject("bad\nname");
    p.tasks.clear();
    p.stats.cycles = 0;
    std::vector<std::string> lines = linesOf(renderTable({p}));
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_TRUE(lines[1].starts_with("bad?name")) << lines[1];
    EXPECT_EQ(lines[1].find('-', lines[0].find("TYPE")), lines[0].find("TYPE"));
}

TEST(CliRenderTable, LongPidListIsShortened) {
    ProjectInfo p = sampleProject("p");
    p.stats.pids.clear();
    for (std::uint32_t pid = 100; pid < 120; ++pid) p.stats.pids.push_back(pid);
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

namespace etmem::cli {
namespace {

TEST(CliRenderGates, GatesOfTheNormalizedConfigShowUnderTheProject) {
    const std::string yaml =
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  sysmem_threshold: 50\n"
        "  swapcache_high_wmark: 10\n  swapcache_low_wmark: 6\n  policies:\n"
        "    - type: pid\n      value: 1\n      swap_flag: no\n"
        "    - type: name\n      value: mysql\n      swap_threshold: 10g\n"
        "      dram_percent: 40\n      swap_flag: yes\n";
    EXPECT_EQ(gatesOfConfig(yaml),
              (std::vector<std::string>{"sysmem_threshold 50", "swapcache_high_wmark 10",
                                        "swapcache_low_wmark 6", "task 2: swap_threshold 10g",
                                        "task 2: dram_percent 40", "task 2: swap_flag yes"}));
    EXPECT_TRUE(gatesOfConfig("options:\n  loop: 1\n").empty());
    ProjectInfo project;
    project.name = "p";
    project.state = "stopped";
    project.gates = gatesOfConfig(yaml);
    const std::string table = renderTable({project}, BarGlyphs::Ascii);
    EXPECT_NE(table.find("  gates: sysmem_threshold 50, swapcache_high_wmark 10"),
              std::string::npos)
        << table;
}

// Figures this CLI has no words for are shown under their names, in the table and the JSON.
TEST(CliRender, ShowsFiguresItDoesNotKnow) {
    ProjectInfo p = sampleProject("p");
    p.stats.others = {
        {"pages_migrated", std::uint64_t{12}}, {"node", std::string("1")}, {"demoted", true}};
    const std::string table = renderTable({p});
    EXPECT_NE(table.find("  also:          pages_migrated 12, node 1, demoted yes\n"),
              std::string::npos)
        << table;
    const std::string json = compact(renderJson({p}));
    EXPECT_NE(json.find("\"pages_migrated\":12,\"node\":\"1\",\"demoted\":true"), std::string::npos)
        << json;
}

}  // namespace
}  // namespace etmem::cli
