// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon's keys (etmem 1.1's [engine] name=damon): 1.1's sample loads unchanged, the
// keys go to the engine's tasks, YAML takes and writes the same keys, and bad values are
// refused with key, value and range.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "etmem/config.hpp"
#include "etmem/config_ini.hpp"
#include "etmem/settings.hpp"

namespace etmem {
namespace {

std::string readData(const std::string& name) {
    std::ifstream in(std::string(ETMEM_TEST_DATA_DIR) + "/config/etmem-1.1/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

ProjectConfig parse(const std::string& text) {
    return parseConfig(text, ParseOptions{4});
}

std::string errorOf(const std::string& text) {
    try {
        parse(text);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(accepted)";
}

const std::string kProject = "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n";
const std::string kTask = "[task]\nproject=p\nengine=damon\nname=t\ntype=pid\nvalue=1\n";

std::string withEngineKeys(const std::string& keys) {
    return kProject + "[engine]\nname=damon\nproject=p\n" + keys + kTask;
}

TEST(DamonEngineConfig, Etmem11SampleLoads) {
    const ProjectConfig config = parse(readData("damon_conf.yaml"));
    ASSERT_EQ(config.tasks.size(), 1u);
    const TaskConfig& task = config.tasks[0];
    EXPECT_EQ(task.engine, "damon");
    EXPECT_EQ(task.damon.minSize, 0u);
    EXPECT_EQ(task.damon.maxSize, 1024u);
    EXPECT_EQ(task.damon.maxAccesses, 0u);
    EXPECT_EQ(task.damon.maxAge, 10u);
    EXPECT_EQ(task.damon.action, "pageout");
    // scan_type=region: the region keys are the project's; a damon task has no scanner key.
    EXPECT_EQ(config.region.aggrIntervalUs, 100000u);
    EXPECT_EQ(config.region.maxNrRegions, 1000u);
    EXPECT_EQ(task.slide.scanner, "auto");
}

TEST(DamonEngineConfig, NormalizedYamlWritesTheKeysAndReadsThemBack) {
    const ProjectConfig config = parse(readData("damon_conf.yaml"));
    const std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("engine: damon"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("max_size: 1024"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("max_age: 10"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("max_acc: 0"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("action: pageout"), std::string::npos) << yaml;
    EXPECT_EQ(yaml.find("scanner:"), std::string::npos) << yaml;
    EXPECT_EQ(parse(yaml), config);
}

TEST(DamonEngineConfig, YamlTakesTheSameKeys) {
    const ProjectConfig config = parse(
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    - type: pid\n"
        "      value: 1\n      engine: damon\n      min_age: 5\n      max_age: 50\n"
        "      max_acc: 2\n      action: cold\n      max_swap_rate: 8M\n");
    const TaskConfig& task = config.tasks.at(0);
    EXPECT_EQ(task.damon.minAge, 5u);
    EXPECT_EQ(task.damon.maxAge, 50u);
    EXPECT_EQ(task.damon.maxAccesses, 2u);
    EXPECT_EQ(task.damon.action, "cold");
    EXPECT_EQ(task.slide.maxSwapRate, 8u << 20);
}

TEST(DamonEngineConfig, DefaultsAreSafeForPageout) {
    const TaskConfig task = parse(withEngineKeys("")).tasks.at(0);
    EXPECT_EQ(task.damon.action, "pageout");
    EXPECT_EQ(task.damon.maxAccesses, 0u);  // only regions not accessed
    EXPECT_EQ(task.damon.maxSize, damon::kUnlimitedSize);
}

TEST(DamonEngineConfig, ATaskKeyOverridesItsEngines) {
    const ProjectConfig config =
        parse(kProject + "[engine]\nname=damon\nproject=p\nmax_age=10\n" + kTask + "max_age=20\n");
    EXPECT_EQ(config.tasks.at(0).damon.maxAge, 20u);
}

TEST(DamonEngineConfig, AMinAboveItsMaxIsRefused) {
    const std::string size = errorOf(withEngineKeys("min_size=8192\nmax_size=4096\n"));
    EXPECT_NE(size.find("min_size"), std::string::npos) << size;
    EXPECT_NE(size.find("8192"), std::string::npos) << size;
    EXPECT_NE(size.find("0..4096"), std::string::npos) << size;
    // max_acc's default is 1.1's 0: a min_acc alone says so.
    const std::string acc = errorOf(withEngineKeys("min_acc=3\n"));
    EXPECT_NE(acc.find("min_acc"), std::string::npos) << acc;
    EXPECT_NE(acc.find("max_acc is not given"), std::string::npos) << acc;
}

TEST(DamonEngineConfig, BadValuesAreRefusedWithTheirRange) {
    const std::string age = errorOf(withEngineKeys("max_age=4294967296\n"));
    EXPECT_NE(age.find("line 9, column 9: options.policies[0].max_age: value 4294967296"),
              std::string::npos)
        << age;
    EXPECT_NE(age.find("0..4294967295"), std::string::npos) << age;
    const std::string size = errorOf(withEngineKeys("max_size=1k\n"));
    EXPECT_NE(size.find("max_size"), std::string::npos) << size;
}

TEST(DamonEngineConfig, OnlyVaddrActionsAreTaken) {
    for (const char* action : {"willneed", "cold", "pageout", "hugepage", "nohugepage", "stat"})
        EXPECT_EQ(
            parse(withEngineKeys(std::string("action=") + action + "\n")).tasks.at(0).damon.action,
            action);
    const std::string migrate = errorOf(withEngineKeys("action=migrate_cold\n"));
    EXPECT_NE(migrate.find("migrate_cold"), std::string::npos) << migrate;
    EXPECT_NE(migrate.find("pageout"), std::string::npos) << migrate;
}

TEST(DamonEngineConfig, SlideKeysAreNotDamonsAndViceVersa) {
    const std::string slideKey = errorOf(withEngineKeys("") + "T=1\n");
    EXPECT_NE(slideKey.find("T"), std::string::npos) << slideKey;
    const std::string inSlide =
        errorOf(kProject +
                "[engine]\nname=slide\nproject=p\nmin_age=1\n[task]\nproject=p\nengine=slide\n"
                "name=t\ntype=pid\nvalue=1\nT=1\n");
    EXPECT_NE(inSlide.find("not a key of engine slide"), std::string::npos) << inSlide;
}

TEST(DamonEngineConfig, ObjAddOfAnEngineAndTaskFileKeepsTheKeys) {
    const ProjectConfig base = parse(
        "[project]\nname=p\nscan_type=region\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=slide\n"
        "project=p\n[task]\nproject=p\nengine=slide\nname=s\ntype=pid\nvalue=1\nT=1\n");
    ASSERT_EQ(base.tasks.at(0).slide.scanner, "damon");  // slide keeps 1.1's region mapping
    const ProjectConfig added = addIniObjects(
        base, "[engine]\nname=damon\nproject=p\nmax_age=7\n" + kTask, ParseOptions{4}, true);
    ASSERT_EQ(added.tasks.size(), 2u);
    EXPECT_EQ(added.tasks[1].engine, "damon");
    EXPECT_EQ(added.tasks[1].damon.maxAge, 7u);
}

TEST(DamonEngineConfig, TheSettingsShowTheSchemeDefaultsIncluded) {
    const ProjectConfig config = parse(withEngineKeys("min_age=10\nmax_swap_rate=1M\n"));
    const FigureList settings = taskSettings(config, config.tasks.at(0));
    EXPECT_EQ(std::get<std::string>(settings.find("engine")->value), "damon");
    EXPECT_EQ(settings.count("min_age"), 10u);
    EXPECT_EQ(settings.count("max_age"), damon::kMaxCount);
    EXPECT_EQ(settings.count("max_acc"), 0u);
    EXPECT_EQ(settings.count("max_size"), damon::kUnlimitedSize);
    EXPECT_EQ(std::get<std::string>(settings.find("action")->value), "pageout");
    EXPECT_EQ(settings.count("max_swap_rate"), 1u << 20);
    EXPECT_EQ(settings.find("T"), nullptr);  // slide's
    EXPECT_EQ(settings.find("scanner"), nullptr);
}

}  // namespace
}  // namespace etmem
