// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi's keys: etmem 1.1's psi files (scan_type=psi, cg_dir, parent/*) as they are, the
// YAML form with the same keys, every key's range and default, and slide paced by a psi goal.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "etmem/config.hpp"
#include "etmem/config_ini.hpp"
#include "etmem/psi/psi_engine.hpp"

namespace etmem {
namespace {

const ParseOptions kCores{4};

std::string readData(const std::string& name) {
    std::ifstream in(std::string(ETMEM_TEST_DATA_DIR) + "/config/etmem-1.1/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string yamlTask(const std::string& keys) {
    return "options:\n  loop: 1\n  interval: 2\n  sleep: 1\n  policies:\n"
           "    - type: cgroup\n      value: work.slice\n      engine: psi\n" +
           keys;
}

TEST(PsiConfig, EtmemOneOnePsiSampleLoadsUnchanged) {
    const ProjectConfig config = parseConfig(readData("psi_conf.yaml"), kCores);
    EXPECT_EQ(config.interval, 6u);
    EXPECT_EQ(config.loop, 1u);
    EXPECT_EQ(config.sleep, 1u);
    ASSERT_EQ(config.tasks.size(), 1u);
    const TaskConfig& task = config.tasks[0];
    EXPECT_EQ(task.engine, "psi");
    EXPECT_EQ(task.type, TaskType::Cgroup);
    EXPECT_EQ(task.value, "isulad");
    EXPECT_EQ(task.name, "psi_task");
    EXPECT_DOUBLE_EQ(task.psi.pressure, 0.1);
    EXPECT_DOUBLE_EQ(task.psi.reclaimRate, 0.01);
    EXPECT_EQ(task.psi.limitMinBytes, 209715200u);
    EXPECT_EQ(task.psi.reclaimMaxBytes, psi::kDefaultReclaimMaxBytes);
    // Normalized YAML gives the same project back.
    EXPECT_EQ(parseConfig(toYaml(config), kCores), config) << toYaml(config);
}

TEST(PsiConfig, EveryChildFileLoadsThroughObjAdd) {
    const std::string text = readData("psi_children.yaml");
    const IniObjects objects = describeIniObjects(text);
    EXPECT_EQ(objects.project, "containers");
    EXPECT_TRUE(objects.hasProject);
    const ProjectConfig config = parseConfig(text, kCores);
    // A further [task] file, as 1.1 adds one task per cg_dir.
    const ProjectConfig added = addIniObjects(
        config, "[task]\nproject=containers\nengine=psi\nname=one\ncg_dir=/system.slice/a\n",
        kCores);
    ASSERT_EQ(added.tasks.size(), 2u);
    EXPECT_EQ(added.tasks[1].value, "system.slice/a");
    EXPECT_EQ(added.tasks[1].psi, psi::PsiSettings{});
    ASSERT_EQ(config.tasks.size(), 1u);
    const TaskConfig& task = config.tasks[0];
    EXPECT_EQ(task.type, TaskType::Cgroup);
    EXPECT_EQ(task.value, "machine.slice/*");
    EXPECT_DOUBLE_EQ(task.psi.pressure, 0.2);
    EXPECT_DOUBLE_EQ(task.psi.reclaimRateMin, 0.02);
    EXPECT_DOUBLE_EQ(task.psi.reclaimRateMax, 0.3);
    EXPECT_EQ(task.psi.reclaimMaxBytes, 209715200u);
    EXPECT_DOUBLE_EQ(task.psi.limitMinRatio, 0.2);
}

TEST(PsiConfig, CgDirWithTypeIsRefused) {
    const std::string text =
        "[project]\nname=p\nscan_type=psi\ninterval=2\n[engine]\nname=psi\nproject=p\n"
        "[task]\nproject=p\nengine=psi\nname=t\ncg_dir=a\ntype=pid\nvalue=1\n";
    try {
        parseConfig(text, kCores);
        FAIL() << "accepted cg_dir with type";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("either by cg_dir"), std::string::npos) << e.what();
    }
}

TEST(PsiConfig, YamlFormTakesTheSameKeysWithDefaults) {
    const ProjectConfig config = parseConfig(yamlTask(""), kCores);
    EXPECT_EQ(config.tasks[0].psi, psi::PsiSettings{});
    const ProjectConfig given = parseConfig(
        yamlTask("      pressure: 0.5\n      reclaim_rate_min: 0.02\n      reclaim_rate_max: 0.4\n"
                 "      reclaim_rate: 0.1\n      reclaim_max_bytes: 1048576\n"
                 "      limit_min_bytes: 4096\n      limit_min_ratio: 0.25\n"),
        kCores);
    const psi::PsiSettings& settings = given.tasks[0].psi;
    EXPECT_DOUBLE_EQ(settings.pressure, 0.5);
    EXPECT_DOUBLE_EQ(settings.reclaimRate, 0.1);
    EXPECT_EQ(settings.reclaimMaxBytes, 1048576u);
    EXPECT_EQ(settings.limitMinBytes, 4096u);
    EXPECT_DOUBLE_EQ(settings.limitMinRatio, 0.25);
    EXPECT_EQ(parseConfig(toYaml(given), kCores), given) << toYaml(given);
}

struct BadKey {
    std::string keys;
    std::string says;
};

class PsiConfigRejects : public ::testing::TestWithParam<BadKey> {};

TEST_P(PsiConfigRejects, NamesKeyValueAndRange) {
    try {
        parseConfig(yamlTask(GetParam().keys), kCores);
        FAIL() << "accepted " << GetParam().keys;
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(GetParam().says), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, PsiConfigRejects,
    ::testing::Values(
        BadKey{"      pressure: 0\n", "pressure: value 0 is out of range; allowed 0.01..100"},
        BadKey{"      pressure: 101\n", "out of range"},
        BadKey{"      pressure: abc\n", "is not a decimal number"},
        BadKey{"      reclaim_rate: 0.6\n", "reclaim_rate: value 0.6 is out of range"},
        BadKey{"      reclaim_rate_min: 0.2\n      reclaim_rate_max: 0.1\n",
               "at least reclaim_rate_min"},
        BadKey{"      reclaim_rate_max: 2\n", "out of range"},
        BadKey{"      reclaim_max_bytes: 100\n", "allowed 4096..1099511627776"},
        BadKey{"      limit_min_ratio: 1.5\n", "limit_min_ratio: value 1.5 is out of range"},
        BadKey{"      limit_min_bytes: -1\n", "limit_min_bytes"},
        BadKey{"      param:\n        T: 1\n", "not a key of engine psi"}));

TEST(PsiComposition, SlideOnTheSameCgroupIsPacedByThePsiGoal) {
    const ProjectConfig config = parseConfig(
        "options:\n  loop: 1\n  interval: 2\n  sleep: 1\n  policies:\n"
        "    - type: cgroup\n      value: work.slice\n      engine: psi\n      pressure: 0.5\n"
        "    - type: cgroup\n      value: work.slice\n      engine: slide\n      param:\n"
        "        T: 1\n"
        "    - type: cgroup\n      value: other.slice\n      engine: slide\n      param:\n"
        "        T: 1\n"
        "    - type: cgroup\n      value: work.slice\n      engine: slide\n      param:\n"
        "        T: 1\n      pressure_limit: 3\n",
        kCores);
    EXPECT_DOUBLE_EQ(psi::composedPressureLimit(config, config.tasks[1]), 0.5);
    EXPECT_DOUBLE_EQ(psi::composedPressureLimit(config, config.tasks[2]), 0);
    EXPECT_DOUBLE_EQ(psi::composedPressureLimit(config, config.tasks[3]), 3);
}

}  // namespace
}  // namespace etmem
