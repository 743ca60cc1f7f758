// SPDX-License-Identifier: MulanPSL-2.0
// Every config key at and just beyond each edge of its range, in the YAML form; each
// rejection must name line, column, key path, value and the allowed range.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

// One YAML config; a field can be overridden by name. Line/column of each value below.
std::string yamlConfig(std::map<std::string, std::string> overrides = {}) {
    std::map<std::string, std::string> f = {
        {"loop", "3"},     {"interval", "1"},    {"sleep", "2"},      {"type", "pid"},
        {"value", "1234"}, {"max_threads", "1"}, {"engine", "slide"}, {"T", "3"}};
    for (auto& [key, text] : overrides) f[key] = text;
    return "options:\n"
           "  loop: " +
           f["loop"] +
           "\n"
           "  interval: " +
           f["interval"] +
           "\n"
           "  sleep: " +
           f["sleep"] +
           "\n"
           "  policies:\n"
           "    - type: " +
           f["type"] +
           "\n"
           "      value: " +
           f["value"] +
           "\n"
           "      max_threads: " +
           f["max_threads"] +
           "\n"
           "      engine: " +
           f["engine"] +
           "\n"
           "      param:\n"
           "        T: " +
           f["T"] + "\n";
}

struct Where {
    int line;
    int column;
    std::string path;
};

const std::map<std::string, Where> kWhere = {
    {"loop", {2, 9, "options.loop"}},
    {"interval", {3, 13, "options.interval"}},
    {"sleep", {4, 10, "options.sleep"}},
    {"type", {6, 13, "options.policies[0].type"}},
    {"value", {7, 14, "options.policies[0].value"}},
    {"max_threads", {8, 20, "options.policies[0].max_threads"}},
    {"engine", {9, 15, "options.policies[0].engine"}},
    {"T", {11, 12, "options.policies[0].param.T"}},
};

struct EdgeCase {
    std::string key;
    std::string text;
    bool accepted;
    std::string allowed;  // expected in the message of a rejection
    unsigned cores = 4;
    std::string loop = "3";
};

void PrintTo(const EdgeCase& c, std::ostream* os) {
    *os << c.key << "=" << c.text;
}

class ConfigEdgeTest : public ::testing::TestWithParam<EdgeCase> {};

TEST_P(ConfigEdgeTest, AcceptsInsideRejectsOutsideWithPositionKeyValueRange) {
    const EdgeCase& c = GetParam();
    std::map<std::string, std::string> overrides = {{c.key, c.text}};
    if (c.key != "loop") overrides["loop"] = c.loop;
    const std::string text = yamlConfig(overrides);
    const ParseOptions options{c.cores};
    if (c.accepted) {
        EXPECT_NO_THROW(parseConfig(text, options)) << text;
        return;
    }
    try {
        parseConfig(text, options);
        FAIL() << "accepted " << c.key << "=" << c.text;
    } catch (const ConfigError& error) {
        const Where& where = kWhere.at(c.key);
        EXPECT_EQ(error.line(), where.line) << error.what();
        EXPECT_EQ(error.column(), where.column) << error.what();
        EXPECT_EQ(error.key(), where.path);
        EXPECT_EQ(error.value(), c.text);
        const std::string what = error.what();
        EXPECT_NE(what.find("line " + std::to_string(where.line) + ", column " +
                            std::to_string(where.column) + ": " + where.path),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find(c.text), std::string::npos) << what;
        EXPECT_NE(what.find("allowed " + c.allowed), std::string::npos) << what;
    }
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Loop, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"loop", "0", false, "1..120"}, EdgeCase{"loop", "1", true, "", 4, "1"},
    EdgeCase{"loop", "120", true, ""}, EdgeCase{"loop", "121", false, "1..120"}));
INSTANTIATE_TEST_SUITE_P(Interval, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"interval", "0", false, "1..1200"}, EdgeCase{"interval", "1", true, ""},
    EdgeCase{"interval", "1200", true, ""}, EdgeCase{"interval", "1201", false, "1..1200"}));
INSTANTIATE_TEST_SUITE_P(Sleep, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"sleep", "0", false, "1..1200"}, EdgeCase{"sleep", "1", true, ""},
    EdgeCase{"sleep", "1200", true, ""}, EdgeCase{"sleep", "1201", false, "1..1200"}));
// 2*cores+1: 9 with 4 cores, 3 with 1 core.
INSTANTIATE_TEST_SUITE_P(MaxThreads, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"max_threads", "0", false, "1..9"}, EdgeCase{"max_threads", "1", true, ""},
    EdgeCase{"max_threads", "9", true, ""}, EdgeCase{"max_threads", "10", false, "1..9"},
    EdgeCase{"max_threads", "3", true, "", 1}, EdgeCase{"max_threads", "4", false, "1..3", 1}));
// 3*loop: 9 with loop 3, 360 with loop 120, 3 with loop 1.
INSTANTIATE_TEST_SUITE_P(Threshold, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"T", "0", false, "1..9"}, EdgeCase{"T", "1", true, ""},
    EdgeCase{"T", "9", true, ""}, EdgeCase{"T", "10", false, "1..9"},
    EdgeCase{"T", "360", true, "", 4, "120"}, EdgeCase{"T", "361", false, "1..360", 4, "120"},
    EdgeCase{"T", "3", true, "", 4, "1"}, EdgeCase{"T", "4", false, "1..3", 4, "1"}));
INSTANTIATE_TEST_SUITE_P(Pid, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"value", "0", false, "1..2147483647"}, EdgeCase{"value", "-1", false, "1..2147483647"},
    EdgeCase{"value", "1", true, ""}, EdgeCase{"value", "2147483647", true, ""},
    EdgeCase{"value", "2147483648", false, "1..2147483647"},
    EdgeCase{"value", "99999999999999999999999999", false, "1..2147483647"},
    EdgeCase{"value", "mysql", false, "1..2147483647"}));
INSTANTIATE_TEST_SUITE_P(TypeAndEngine, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"type", "pid", true, ""}, EdgeCase{"type", "PID", false, "pid | name"},
    EdgeCase{"type", "pid/name", false, "pid | name"},
    EdgeCase{"engine", "slide", true, ""}, EdgeCase{"engine", "thirdparty", false, "slide"}));
// Wrong types where a whole number belongs.
INSTANTIATE_TEST_SUITE_P(WrongTypes, ConfigEdgeTest, ::testing::Values(
    EdgeCase{"loop", "abc", false, "1..120"}, EdgeCase{"loop", "1.5", false, "1..120"},
    EdgeCase{"loop", "-1", false, "1..120"}, EdgeCase{"loop", "0x10", false, "1..120"},
    EdgeCase{"loop", "18446744073709551616", false, "1..120"},
    EdgeCase{"interval", "1e3", false, "1..1200"}, EdgeCase{"sleep", "true", false, "1..1200"},
    EdgeCase{"T", "three", false, "1..9"}, EdgeCase{"max_threads", "+2", false, "1..9"}));
// clang-format on

TEST(ConfigFieldsTest, ProcessNameOf15BytesIsAcceptedAnd16Rejected) {
    const std::string fifteen(15, 'n');
    const ProjectConfig config =
        parseConfig(yamlConfig({{"type", "name"}, {"value", fifteen}}), {});
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(config.tasks[0].type, TaskType::Name);
    EXPECT_EQ(config.tasks[0].value, fifteen);

    const std::string sixteen(16, 'n');
    try {
        parseConfig(yamlConfig({{"type", "name"}, {"value", sixteen}}), {});
        FAIL() << "a 16-byte process name was accepted";
    } catch (const ConfigError& error) {
        EXPECT_EQ(error.line(), 7);
        EXPECT_EQ(error.key(), "options.policies[0].value");
        EXPECT_EQ(error.value(), sixteen);
        EXPECT_NE(
            std::string(error.what()).find("is 16 bytes long; allowed a process name of 1..15"),
            std::string::npos)
            << error.what();
    }
}

TEST(ConfigFieldsTest, EmptyProcessNameIsRejected) {
    EXPECT_THROW(parseConfig(yamlConfig({{"type", "name"}, {"value", "\"\""}}), {}), ConfigError);
}

TEST(ConfigFieldsTest, ProcessNameWithControlCharacterIsRejected) {
    try {
        parseConfig(yamlConfig({{"type", "name"}, {"value", "\"a\\tb\""}}), {});
        FAIL() << "a name with a tab was accepted";
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find("control character"), std::string::npos);
        EXPECT_EQ(error.value(), "a\\x09b");  // shown escaped, never raw
    }
}

TEST(ConfigFieldsTest, ValuesAreReadIntoTheModel) {
    const ProjectConfig config = parseConfig(yamlConfig({{"loop", "7"},
                                                         {"interval", "11"},
                                                         {"sleep", "13"},
                                                         {"value", "0042"},
                                                         {"max_threads", "5"},
                                                         {"T", "20"}}),
                                             ParseOptions{2});
    EXPECT_EQ(config.loop, 7u);
    EXPECT_EQ(config.interval, 11u);
    EXPECT_EQ(config.sleep, 13u);
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(config.tasks[0].type, TaskType::Pid);
    EXPECT_EQ(config.tasks[0].value, "42");  // a pid is normalized to plain decimal
    EXPECT_EQ(config.tasks[0].maxThreads, 5u);
    EXPECT_EQ(config.tasks[0].engine, "slide");
    EXPECT_EQ(config.tasks[0].slide.T, 20u);
}

TEST(ConfigFieldsTest, MaxThreadsDefaultsToOne) {
    std::string text = yamlConfig();
    const std::string line = "      max_threads: 1\n";
    text.erase(text.find(line), line.size());
    const ProjectConfig config = parseConfig(text, {});
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(config.tasks[0].maxThreads, 1u);
}

TEST(ConfigFieldsTest, QuotedNumbersAreReadAsNumbers) {
    const ProjectConfig config = parseConfig(yamlConfig({{"loop", "\"4\""}}), {});
    EXPECT_EQ(config.loop, 4u);
}

}  // namespace
}  // namespace etmem
