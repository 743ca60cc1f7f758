// SPDX-License-Identifier: MulanPSL-2.0
// The two file forms (YAML and etmem 1.0's `key : value` lines), the rule that picks between
// them, and the normalized YAML both give.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

std::string readDataFile(const std::string& relative) {
    const std::string path = std::string(ETMEM_TEST_DATA_DIR) + "/" + relative;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

ConfigError parseError(const std::string& text, ParseOptions options = {}) {
    try {
        parseConfig(text, options);
    } catch (const ConfigError& error) {
        return error;
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return ConfigError(0, 0, "", "", "accepted");
}

const ParseOptions kFourCores{4};

TEST(ConfigFormsTest, ReadmeExampleVerbatimIsReadAsLegacyAndOnlyItsPlaceholderFails) {
    // The README writes "pid/name" and "123456/mysql" as placeholders for a choice; the
    // file's structure (tabs, spaces, uneven indentation) is read, and the first placeholder
    // is reported with its position.
    const std::string text = readDataFile("config/readme_example_verbatim.conf");
    EXPECT_EQ(detectFormat(text), ConfigFormat::Legacy);
    const ConfigError error = parseError(text, kFourCores);
    EXPECT_EQ(error.line(), 6);
    EXPECT_EQ(error.column(), 10);
    EXPECT_EQ(error.key(), "options.policies.type");
    EXPECT_EQ(error.value(), "pid/name");
    EXPECT_NE(std::string(error.what()).find("allowed pid | name"), std::string::npos);
}

TEST(ConfigFormsTest, ReadmeExampleWithItsChoicesMadeParses) {
    const ProjectConfig byPid =
        parseConfig(readDataFile("config/readme_example_pid.conf"), kFourCores);
    EXPECT_EQ(byPid.loop, 3u);
    EXPECT_EQ(byPid.interval, 1u);
    EXPECT_EQ(byPid.sleep, 2u);
    ASSERT_EQ(byPid.tasks.size(), 1u);
    EXPECT_EQ(byPid.tasks[0].type, TaskType::Pid);
    EXPECT_EQ(byPid.tasks[0].value, "123456");
    EXPECT_EQ(byPid.tasks[0].maxThreads, 3u);
    EXPECT_EQ(byPid.tasks[0].slide.T, 3u);

    const ProjectConfig byName =
        parseConfig(readDataFile("config/readme_example_name.conf"), kFourCores);
    ASSERT_EQ(byName.tasks.size(), 1u);
    EXPECT_EQ(byName.tasks[0].type, TaskType::Name);
    EXPECT_EQ(byName.tasks[0].value, "mysql");
}

TEST(ConfigFormsTest, BothFormsOfTheSameProjectNormalizeToTheSameText) {
    const std::string legacy = readDataFile("config/readme_example_pid.conf");
    const std::string yaml = readDataFile("config/example_pid.yaml");
    EXPECT_EQ(detectFormat(legacy), ConfigFormat::Legacy);
    EXPECT_EQ(detectFormat(yaml), ConfigFormat::Yaml);
    EXPECT_EQ(parseConfig(legacy, kFourCores), parseConfig(yaml, kFourCores));
    EXPECT_EQ(toYaml(parseConfig(legacy, kFourCores)), toYaml(parseConfig(yaml, kFourCores)));
}

TEST(ConfigFormsTest, EveryPoliciesLineStartsANewTaskInTheLegacyForm) {
    const ProjectConfig legacy = parseConfig(readDataFile("config/two_tasks.conf"), kFourCores);
    const ProjectConfig yaml = parseConfig(readDataFile("config/two_tasks.yaml"), kFourCores);
    ASSERT_EQ(legacy.tasks.size(), 2u);
    EXPECT_EQ(legacy.tasks[1].type, TaskType::Name);
    EXPECT_EQ(legacy.tasks[1].value, "mysql");
    EXPECT_EQ(legacy.tasks[1].maxThreads, 1u);
    EXPECT_EQ(legacy.tasks[1].slide.T, 9u);
    EXPECT_EQ(legacy, yaml);
    EXPECT_EQ(toYaml(legacy), toYaml(yaml));
}

TEST(ConfigFormsTest, LegacyErrorsInTheSecondTaskNameItsIndex) {
    std::string text = readDataFile("config/two_tasks.conf");
    text.replace(text.find("T : 9"), 5, "T : 10");
    const ConfigError error = parseError(text, kFourCores);
    EXPECT_EQ(error.line(), 17);
    EXPECT_EQ(error.column(), 8);
    EXPECT_EQ(error.key(), "options.policies[1].param.T");
    EXPECT_NE(std::string(error.what()).find("allowed 1..9"), std::string::npos) << error.what();
}

TEST(ConfigFormsTest, UnevenSpaceIndentationThatIsNotYamlIsReadAsLegacy) {
    const std::string text = readDataFile("config/uneven_spaces.conf");
    EXPECT_EQ(detectFormat(text), ConfigFormat::Legacy);
    EXPECT_EQ(parseConfig(text, kFourCores),
              parseConfig(readDataFile("config/example_pid.yaml"), kFourCores));
}

TEST(ConfigFormsTest, TabsOnlyAndMixedTabsAndSpacesGiveTheSameProject) {
    const std::string tabs =
        "options:\n\tloop : 3\n\tinterval : 1\n\tsleep : 2\n\tpolicies:\n\t\ttype : pid\n"
        "\t\tvalue : 123456\n\t\tmax_threads : 3\n\t\tengine : slide\n\t\tparam:\n\t\t\tT : 3\n";
    const std::string mixed =
        "options:\n \tloop:3\n\t  interval :1\n    sleep:  2\n\t policies:\n  \t\ttype: pid\n"
        "\t value   :   123456\n\t\t max_threads : 3\n \t engine : slide\n\tparam :\n T : 3\n";
    EXPECT_EQ(detectFormat(tabs), ConfigFormat::Legacy);
    EXPECT_EQ(detectFormat(mixed), ConfigFormat::Legacy);
    const ProjectConfig expected = parseConfig(readDataFile("config/example_pid.yaml"), kFourCores);
    EXPECT_EQ(parseConfig(tabs, kFourCores), expected);
    EXPECT_EQ(parseConfig(mixed, kFourCores), expected);
}

TEST(ConfigFormsTest, LegacyFormAllowsCommentsQuotesAndCrLf) {
    const std::string text =
        "# etmem 1.0 config\r\noptions:\r\n\tloop : 3 # scans\r\n\tinterval : 1\r\n\tsleep : 2\r\n"
        "\tpolicies:\r\n\t\ttype : name\r\n\t\tvalue : \"my#sql\"\r\n\t\tengine : slide\r\n"
        "\t\tparam:\r\n\t\t\tT : 3\r\n";
    const ProjectConfig config = parseConfig(text, {});
    EXPECT_EQ(config.loop, 3u);
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(config.tasks[0].value, "my#sql");
}

TEST(ConfigFormsTest, LegacyKeyOutsideItsSectionSaysWhichLineToAdd) {
    const ConfigError noOptions = parseError("\tloop : 3\n");
    EXPECT_EQ(noOptions.line(), 1);
    EXPECT_EQ(noOptions.column(), 2);
    EXPECT_NE(std::string(noOptions.what()).find("add an 'options:' line"), std::string::npos);

    const ConfigError noTask = parseError("options:\n\tloop : 3\n\ttype : pid\n");
    EXPECT_EQ(noTask.line(), 3);
    EXPECT_NE(std::string(noTask.what()).find("add a 'policies:' line"), std::string::npos);

    const ConfigError noParam = parseError("options:\n\tpolicies:\n\t\tT : 1\n");
    EXPECT_EQ(noParam.line(), 3);
    EXPECT_NE(std::string(noParam.what()).find("add a 'param:' line"), std::string::npos);
}

TEST(ConfigFormsTest, LegacyTyposAreNamedWithASuggestion) {
    const ConfigError key = parseError("options:\n\tloop : 3\n\tintervall : 1\n");
    EXPECT_EQ(key.line(), 3);
    EXPECT_EQ(key.column(), 2);
    EXPECT_EQ(key.key(), "options.intervall");
    EXPECT_NE(std::string(key.what()).find("unknown key 'intervall'; did you mean 'interval'?"),
              std::string::npos)
        << key.what();

    // A misspelt section header still opens its section, so the typo itself is reported.
    const ConfigError header = parseError(
        "options:\n\tloop : 3\n\tinterval : 1\n\tsleep : 1\n\tpolices:\n\t\ttype : pid\n");
    EXPECT_EQ(header.line(), 5);
    EXPECT_NE(std::string(header.what()).find("did you mean 'policies'?"), std::string::npos)
        << header.what();

    const ConfigError taskKey = parseError(
        "options:\n\tloop : 3\n\tinterval : 1\n\tsleep : 1\n\tpolicies:\n\t\tparam:\n"
        "\t\t\tT : 1\n\t\tmax_thread : 2\n");
    EXPECT_EQ(taskKey.line(), 8);
    EXPECT_NE(std::string(taskKey.what()).find("did you mean 'max_threads'?"), std::string::npos)
        << taskKey.what();
}

TEST(ConfigFormsTest, LegacyRepeatedKeyInOneTaskIsRejected) {
    const ConfigError error = parseError(
        "options:\n\tloop : 3\n\tinterval : 1\n\tsleep : 1\n\tpolicies:\n\t\ttype : pid\n"
        "\t\ttype : name\n");
    EXPECT_EQ(error.line(), 7);
    EXPECT_NE(std::string(error.what()).find("given twice (first at line 6)"), std::string::npos)
        << error.what();
}

TEST(ConfigFormsTest, LegacyLineThatIsNotKeyValueIsRejectedWithItsPosition) {
    const ConfigError error = parseError("options:\n\tloop : 3\n\tthis is not a key\n");
    EXPECT_EQ(error.line(), 3);
    EXPECT_EQ(error.column(), 2);
    EXPECT_NE(std::string(error.what()).find("not a 'key : value'"), std::string::npos);
}

TEST(ConfigFormsTest, DetectionRule) {
    EXPECT_EQ(detectFormat("options:\n  loop: 3\n"), ConfigFormat::Yaml);
    EXPECT_EQ(detectFormat("options:\n\tloop: 3\n"), ConfigFormat::Legacy);  // tab indentation
    EXPECT_EQ(detectFormat("options:\n  loop:3\n"), ConfigFormat::Legacy);   // `key:value`
    EXPECT_EQ(detectFormat("options:\n loop: 3\n   sleep : 1\n"), ConfigFormat::Legacy);
    // Broken YAML that is not line-shaped either goes to the YAML reader for its error.
    EXPECT_EQ(detectFormat("options:\n  - a\n  b: c\n"), ConfigFormat::Yaml);
    // Every line `key : value`: the line reader.
    EXPECT_EQ(detectFormat("options: [\n"), ConfigFormat::Legacy);
    // A tab after the key (not in the indentation) is fine YAML.
    EXPECT_EQ(detectFormat("options:\n  loop:\t3\n"), ConfigFormat::Yaml);
}

TEST(ConfigFormsTest, ToYamlRoundTripsAndIsTheSameForEquivalentTexts) {
    ProjectConfig config;
    config.loop = 120;
    config.interval = 1200;
    config.sleep = 7;
    config.tasks = {TaskConfig{TaskType::Pid, "1", 9, "slide", "", {.T = 360}},
                    TaskConfig{TaskType::Name, "123", 1, "slide", "", {.T = 1}},
                    TaskConfig{TaskType::Name, "null", 2, "slide", "", {.T = 2}},
                    TaskConfig{TaskType::Name, "a \"b\": #c", 1, "slide", "", {.T = 3}},
                    TaskConfig{TaskType::Name, "k/0:1-\xC3\xA9", 1, "slide", "", {.T = 4}}};
    const std::string yaml = toYaml(config);
    EXPECT_EQ(detectFormat(yaml), ConfigFormat::Yaml);
    EXPECT_EQ(parseConfig(yaml, kFourCores), config) << yaml;
    EXPECT_EQ(toYaml(parseConfig(yaml, kFourCores)), yaml);
    // Every key is written, even the defaulted one.
    for (const char* key : {"loop:", "interval:", "sleep:", "policies:", "type:", "value:",
                            "max_threads:", "engine:", "param:", "T:"}) {
        EXPECT_NE(yaml.find(key), std::string::npos) << key;
    }
}

TEST(ConfigFormsTest, ShippedExampleConfigParses) {
    const std::string text = readDataFile("../../etc/example_conf.yaml");
    EXPECT_EQ(detectFormat(text), ConfigFormat::Yaml);
    const ProjectConfig config = parseConfig(text, {});
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(parseConfig(toYaml(config), {}), config);
}

}  // namespace
}  // namespace etmem
