// SPDX-License-Identifier: MulanPSL-2.0
// Config keys for units and pacing: task types unit and cgroup, max_swap_rate and
// pressure_limit, in the YAML and etmem 1.0 forms; every rejection names the key, the value
// and what is allowed.
#include <gtest/gtest.h>

#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

std::string yamlTask(const std::string& type, const std::string& value,
                     const std::string& extra = "") {
    return "options:\n"
           "  loop: 1\n"
           "  interval: 1\n"
           "  sleep: 1\n"
           "  policies:\n"
           "    - type: " +
           type + "\n      value: " + value +
           "\n"
           "      engine: slide\n"
           "      param:\n"
           "        T: 1\n" +
           extra;
}

TaskConfig parseTask(const std::string& text) {
    return parseConfig(text, {}).tasks.at(0);
}

std::string rejection(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(ConfigUnitTargets, UnitNamesOfTheThreeTypesAreAccepted) {
    for (const char* name : {"mysql.service", "session-3.scope", "machine.slice",
                             "getty@tty1.service", "a:b_c-d\\x2d.service"}) {
        TaskConfig task = parseTask(yamlTask("unit", std::string("'") + name + "'"));
        EXPECT_EQ(task.type, TaskType::Unit);
        EXPECT_EQ(task.value, name);
    }
}

TEST(ConfigUnitTargets, InvalidUnitNamesAreRejectedWithTheRule) {
    for (const char* name : {"mysql", "mysql.socket", ".service", "a b.service", "getty@.service",
                             "a@b@c.service", "x/y.service"}) {
        std::string why = rejection(yamlTask("unit", std::string("\"") + name + "\""));
        EXPECT_NE(why.find("options.policies[0].value"), std::string::npos) << why;
        EXPECT_NE(why.find("not a valid unit name"), std::string::npos) << why;
        EXPECT_NE(why.find(".service, .scope or .slice"), std::string::npos) << why;
    }
    std::string longName(260, 'a');
    EXPECT_NE(rejection(yamlTask("unit", longName + ".service")).find("not a valid unit name"),
              std::string::npos);
}

TEST(ConfigUnitTargets, CgroupPathsAreRelativeWithoutDotDot) {
    EXPECT_EQ(parseTask(yamlTask("cgroup", "system.slice/foo.service")).value,
              "system.slice/foo.service");
    EXPECT_EQ(parseTask(yamlTask("cgroup", "etmem-test")).type, TaskType::Cgroup);
    for (const char* path : {"/system.slice", "a/../b", "..", "a//b", "a/", "./a"}) {
        std::string why = rejection(yamlTask("cgroup", std::string("\"") + path + "\""));
        EXPECT_NE(why.find("not a cgroup path"), std::string::npos) << path << ": " << why;
        EXPECT_NE(why.find("relative to the cgroup2 mount"), std::string::npos) << why;
    }
}

TEST(ConfigUnitTargets, TypeListsTheFourTypes) {
    std::string why = rejection(yamlTask("service", "x"));
    EXPECT_NE(why.find("allowed pid | name | unit | cgroup"), std::string::npos) << why;
}

TEST(ConfigPacing, SwapRateTakesSuffixesAndDefaultsToUnlimited) {
    EXPECT_EQ(parseTask(yamlTask("pid", "1")).slide.maxSwapRate, 0u);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      max_swap_rate: 8M\n")).slide.maxSwapRate,
              8u << 20);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      max_swap_rate: 512k\n")).slide.maxSwapRate,
              512u << 10);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      max_swap_rate: 1G\n")).slide.maxSwapRate,
              std::uint64_t{1} << 30);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      max_swap_rate: 4096\n")).slide.maxSwapRate,
              4096u);
}

TEST(ConfigPacing, SwapRateOutOfRangeOrMalformedIsRejected) {
    for (const char* text : {"4095", "0", "2048G", "-1M", "8MB", "M", "eight"}) {
        std::string why =
            rejection(yamlTask("pid", "1", std::string("      max_swap_rate: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].max_swap_rate"), std::string::npos) << why;
        EXPECT_NE(why.find("line 11"), std::string::npos) << why;
        EXPECT_NE(why.find("allowed bytes per second, 4096.."), std::string::npos) << why;
    }
}

TEST(ConfigPacing, PressureLimitIsAPercentWithOneDecimal) {
    EXPECT_EQ(parseTask(yamlTask("pid", "1")).slide.pressureLimit, 0);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      pressure_limit: 0.1\n")).slide.pressureLimit,
              0.1);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      pressure_limit: 100\n")).slide.pressureLimit,
              100);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      pressure_limit: 2.5\n")).slide.pressureLimit,
              2.5);
    for (const char* text : {"0", "0.0", "100.1", "101", "2.55", "-1", "ten", "1e1", ".5"}) {
        std::string why =
            rejection(yamlTask("pid", "1", std::string("      pressure_limit: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].pressure_limit"), std::string::npos) << why;
        EXPECT_NE(why.find("allowed 0.1..100"), std::string::npos) << text << ": " << why;
    }
}

TEST(ConfigPacing, NormalizedYamlKeepsEveryNewKey) {
    ProjectConfig config =
        parseConfig(yamlTask("unit", "\"getty@tty1.service\"",
                             "      max_swap_rate: 8M\n      pressure_limit: 12.5\n"),
                    {});
    std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("max_swap_rate: 8388608"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("pressure_limit: 12.5"), std::string::npos) << yaml;
    EXPECT_EQ(parseConfig(yaml, {}), config);
    ProjectConfig cgroup = parseConfig(yamlTask("cgroup", "system.slice/a.service"), {});
    EXPECT_EQ(parseConfig(toYaml(cgroup), {}), cgroup);
    EXPECT_EQ(toYaml(parseConfig(yamlTask("pid", "1"), {})).find("max_swap_rate"),
              std::string::npos);
}

// cold_cycles: optional, 1..16, 1 (etmem's own semantics) when left out.
TEST(ConfigColdCycles, AWholeNumberOfCyclesFromOneToSixteen) {
    EXPECT_EQ(parseTask(yamlTask("pid", "1")).slide.coldCycles, 1u);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      cold_cycles: 2\n")).slide.coldCycles, 2u);
    EXPECT_EQ(parseTask(yamlTask("pid", "1", "      cold_cycles: 16\n")).slide.coldCycles, 16u);
    for (const char* text : {"0", "17", "-1", "two", "1.5"}) {
        std::string why =
            rejection(yamlTask("pid", "1", std::string("      cold_cycles: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].cold_cycles"), std::string::npos) << why;
        EXPECT_NE(why.find("1..16"), std::string::npos) << text << ": " << why;
    }
    ProjectConfig config = parseConfig(yamlTask("pid", "1", "      cold_cycles: 3\n"), {});
    EXPECT_NE(toYaml(config).find("cold_cycles: 3"), std::string::npos);
    EXPECT_EQ(parseConfig(toYaml(config), {}), config);
    EXPECT_EQ(toYaml(parseConfig(yamlTask("pid", "1"), {})).find("cold_cycles"), std::string::npos);
}

TEST(ConfigPacing, LegacyFormReadsTheSameKeys) {
    const std::string legacy =
        "options:\n"
        "\tloop : 1\n"
        "\tinterval : 1\n"
        "\tsleep : 1\n"
        "\tpolicies:\n"
        "\t\ttype : unit\n"
        "\t\tvalue : mysql.service\n"
        "\t\tengine : slide\n"
        "\t\tmax_swap_rate : 8M\n"
        "\t\tpressure_limit : 10\n"
        "\t\tcold_cycles : 2\n"
        "\t\tparam:\n"
        "\t\t\tT: 1\n";
    ASSERT_EQ(detectFormat(legacy), ConfigFormat::Legacy);
    TaskConfig task = parseTask(legacy);
    EXPECT_EQ(task.type, TaskType::Unit);
    EXPECT_EQ(task.value, "mysql.service");
    EXPECT_EQ(task.slide.maxSwapRate, 8u << 20);
    EXPECT_EQ(task.slide.pressureLimit, 10);
    EXPECT_EQ(task.slide.coldCycles, 2u);
}

}  // namespace
}  // namespace etmem
