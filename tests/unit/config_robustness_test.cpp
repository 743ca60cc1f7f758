// SPDX-License-Identifier: MulanPSL-2.0
// Bad input of every kind gives a ConfigError that says what is wrong and where, never a
// crash, a hang, or a bare parser exception.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

const std::string kValid =
    "options:\n"
    "  loop: 3\n"
    "  interval: 1\n"
    "  sleep: 2\n"
    "  policies:\n"
    "    type: pid\n"
    "    value: 1234\n"
    "    engine: slide\n"
    "    param:\n"
    "      T: 3\n";

ConfigError parseError(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& error) {
        return error;
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return ConfigError(0, 0, "", "", "accepted");
}

bool contains(const ConfigError& error, const std::string& part) {
    return std::string(error.what()).find(part) != std::string::npos;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
}

TEST(ConfigRobustnessTest, ValidBaseConfigParses) {
    EXPECT_NO_THROW(parseConfig(kValid, {}));
}

TEST(ConfigRobustnessTest, EmptyAndBlankFilesAreRejectedAsEmpty) {
    for (const std::string text : {"", "   ", "\n\n\t\n", "# only a comment\n", " \r\n \t"}) {
        const ConfigError error = parseError(text);
        EXPECT_EQ(error.line(), 0);
        EXPECT_TRUE(contains(error, "empty")) << error.what();
    }
}

TEST(ConfigRobustnessTest, NulByteIsRejectedWithItsPosition) {
    const ConfigError error = parseError(replaced(kValid, "loop: 3", std::string("lo\0op: 3", 8)));
    EXPECT_EQ(error.line(), 2);
    EXPECT_EQ(error.column(), 5);
    EXPECT_TRUE(contains(error, "NUL")) << error.what();
}

TEST(ConfigRobustnessTest, InvalidUtf8IsRejectedWithItsPosition) {
    for (const std::string bad :
         {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xF5\x80\x80\x80"}) {
        const ConfigError error = parseError(replaced(kValid, "1234", "12" + bad));
        EXPECT_EQ(error.line(), 7);
        EXPECT_EQ(error.column(), 14);
        EXPECT_TRUE(contains(error, "UTF-8")) << error.what();
    }
}

TEST(ConfigRobustnessTest, ControlBytesAreRejected) {
    const ConfigError error = parseError(replaced(kValid, "slide", "sl\x1bide"));
    EXPECT_EQ(error.line(), 8);
    EXPECT_TRUE(contains(error, "0x1B")) << error.what();
}

TEST(ConfigRobustnessTest, RandomBinaryGarbageIsRejectedCleanly) {
    std::mt19937 random(20240229);
    for (int round = 0; round < 200; ++round) {
        std::string garbage(1 + random() % 512, '\0');
        for (char& c : garbage) c = static_cast<char>(random() % 256);
        EXPECT_THROW(parseConfig(garbage, {}), ConfigError);
    }
}

TEST(ConfigRobustnessTest, TenMebibyteFileIsRejectedQuicklyBeforeParsing) {
    std::string huge = kValid;
    while (huge.size() < 10u * 1024 * 1024) huge += "# padding padding padding padding\n";
    const auto start = std::chrono::steady_clock::now();
    const ConfigError error = parseError(huge);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(contains(error, "at most 1048576 bytes")) << error.what();
    // The size is checked before any parsing: far below a second even on a loaded machine.
    EXPECT_LT(elapsed, std::chrono::seconds(1));
}

TEST(ConfigRobustnessTest, SizeLimitIsInclusive) {
    std::string atLimit = kValid + "#";
    atLimit.resize(kMaxConfigBytes - 1, 'x');
    atLimit += "\n";
    ASSERT_EQ(atLimit.size(), kMaxConfigBytes);
    EXPECT_NO_THROW(parseConfig(atLimit, {}));
    EXPECT_THROW(parseConfig(atLimit + "\n", {}), ConfigError);
}

TEST(ConfigRobustnessTest, WrongShapesAreNamed) {
    const ConfigError list = parseError(replaced(kValid, "loop: 3", "loop: [3]"));
    EXPECT_EQ(list.key(), "options.loop");
    EXPECT_TRUE(contains(list, "a list; allowed 1..120")) << list.what();

    const ConfigError map = parseError(replaced(kValid, "loop: 3", "loop: {a: 1}"));
    EXPECT_TRUE(contains(map, "allowed 1..120")) << map.what();

    const ConfigError none = parseError(replaced(kValid, "loop: 3", "loop:"));
    EXPECT_EQ(none.line(), 2);
    EXPECT_TRUE(contains(none, "no value; allowed 1..120")) << none.what();

    const ConfigError scalarOptions = parseError("options: 3\n");
    EXPECT_EQ(scalarOptions.key(), "options");
    EXPECT_TRUE(contains(scalarOptions, "expected a section")) << scalarOptions.what();

    const ConfigError scalarPolicies =
        parseError("options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies: mysql\n");
    EXPECT_EQ(scalarPolicies.key(), "options.policies");
    EXPECT_TRUE(contains(scalarPolicies, "'mysql'")) << scalarPolicies.what();

    const ConfigError emptyList =
        parseError("options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies: []\n");
    EXPECT_TRUE(contains(emptyList, "an empty list")) << emptyList.what();

    const ConfigError topScalar = parseError("just words\n");
    EXPECT_TRUE(contains(topScalar, "'options:'")) << topScalar.what();
}

TEST(ConfigRobustnessTest, UnknownKeysGetTheNearestValidKey) {
    struct Case {
        std::string from, to, suggestion, path;
    };
    for (const Case& c : {Case{"interval:", "intervall:", "interval", "options.intervall"},
                          Case{"loop:", "lop:", "loop", "options.lop"},
                          Case{"engine:", "engin:", "engine", "options.policies.engin"},
                          Case{"T:", "t:", "T", "options.policies.param.t"},
                          Case{"options:", "option:", "options", "option"}}) {
        const ConfigError error = parseError(replaced(kValid, c.from, c.to));
        EXPECT_EQ(error.key(), c.path);
        EXPECT_TRUE(contains(error, "did you mean '" + c.suggestion + "'?")) << error.what();
    }
    const ConfigError far = parseError(replaced(kValid, "sleep: 2", "sleep: 2\n  colour: red"));
    EXPECT_EQ(far.line(), 5);
    EXPECT_EQ(far.column(), 3);
    EXPECT_EQ(far.value(), "red");
    EXPECT_TRUE(contains(far, "unknown key 'colour'; allowed here: loop, interval, sleep"))
        << far.what();
}

TEST(ConfigRobustnessTest, KeyOfAnotherSectionIsReportedAsMisplaced) {
    const ConfigError error = parseError(replaced(kValid, "      T: 3", "    T: 3"));
    EXPECT_EQ(error.line(), 10);
    EXPECT_EQ(error.column(), 5);
    EXPECT_EQ(error.key(), "options.policies.T");
    EXPECT_TRUE(contains(error, "goes inside 'param:' (check its indentation)")) << error.what();
}

TEST(ConfigRobustnessTest, MissingRequiredKeysAreNamedAtTheirSection) {
    struct Case {
        std::string line, path;
        int atLine;
    };
    for (const Case& c :
         {Case{"  loop: 3\n", "options.loop", 1}, Case{"  interval: 1\n", "options.interval", 1},
          Case{"  sleep: 2\n", "options.sleep", 1},
          Case{"    type: pid\n", "options.policies.type", 5},
          Case{"    value: 1234\n", "options.policies.value", 5},
          Case{"    engine: slide\n", "options.policies.engine", 5},
          Case{"      T: 3\n", "options.policies.param.T", 9}}) {
        const ConfigError error = parseError(replaced(kValid, c.line, ""));
        EXPECT_EQ(error.key(), c.path);
        EXPECT_EQ(error.line(), c.atLine) << error.what();
        EXPECT_TRUE(contains(error, "required key")) << error.what();
    }
    const ConfigError noPolicies = parseError("options:\n  loop: 1\n  interval: 1\n  sleep: 1\n");
    EXPECT_EQ(noPolicies.key(), "options.policies");
    const ConfigError noOptions = parseError("# nothing but\nother: 1\n");
    EXPECT_TRUE(contains(noOptions, "unknown key 'other'")) << noOptions.what();
}

TEST(ConfigRobustnessTest, DuplicateKeysAreRejected) {
    const ConfigError error =
        parseError(replaced(kValid, "  sleep: 2\n", "  sleep: 2\n  sleep: 3\n"));
    EXPECT_EQ(error.line(), 5);
    EXPECT_EQ(error.key(), "options.sleep");
    EXPECT_TRUE(contains(error, "given twice (first at line 4)")) << error.what();
}

TEST(ConfigRobustnessTest, YamlSyntaxErrorsArePositionedAndExplained) {
    const ConfigError error = parseError("options:\n  - a\n  b: c\n");
    EXPECT_GT(error.line(), 0);
    EXPECT_TRUE(contains(error, "not valid YAML")) << error.what();
}

TEST(ConfigRobustnessTest, SeveralYamlDocumentsAreRejected) {
    const ConfigError error = parseError(kValid + "---\n" + kValid);
    EXPECT_EQ(error.line(), 11);  // its "---" line
    EXPECT_TRUE(contains(error, "one document")) << error.what();
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on these (yaml-cpp issue #1040); the
// fuzzer found it. The reader must return an error at once.
TEST(ConfigRobustnessTest, StrayCommaDoesNotHangTheYamlParser) {
    for (const std::string text : {",", "\n,\n", "options:\n  loop: 3\n,\n"}) {
        EXPECT_THROW(parseConfig(text, {}), ConfigError) << text;
        (void)detectFormat(text);
    }
}

TEST(ConfigRobustnessTest, LargeFlatListsAreRejected) {
    std::string text = "options:\n  loop: [";
    for (int i = 0; i < 20000; ++i) text += "1, ";
    text += "1]\n";
    const ConfigError error = parseError(text);
    EXPECT_TRUE(contains(error, "more than 10000 values")) << error.what();
}

TEST(ConfigRobustnessTest, DeepNestingAndAliasBombsAreRejected) {
    EXPECT_THROW(parseConfig("options: " + std::string(5000, '[') + std::string(5000, ']'), {}),
                 ConfigError);
    std::string bomb = "a: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int level = 1; level < 12; ++level) {
        bomb += "b" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
        for (int i = 0; i < 10; ++i) bomb += (i ? ", *a" : "*a") + std::to_string(level - 1);
        bomb += "]\n";
    }
    const auto start = std::chrono::steady_clock::now();
    const ConfigError error = parseError(bomb);
    EXPECT_TRUE(contains(error, "aliases")) << error.what();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ConfigRobustnessTest, LongValuesAreShortenedInMessages) {
    const std::string longName(100000, 'n');
    const ConfigError error = parseError(
        replaced(replaced(kValid, "type: pid", "type: name"), "value: 1234", "value: " + longName));
    EXPECT_LT(std::string(error.what()).size(), 300u);
    EXPECT_TRUE(contains(error, "is 100000 bytes long")) << error.what();
}

}  // namespace
}  // namespace etmem
