// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's INI form and its keys (sysmem_threshold, swapcache marks, swap_threshold,
// dram_percent, swap_flag, task name) in all three forms, at and beyond their edges.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "etmem/config.hpp"
#include "etmem/config_ini.hpp"

namespace etmem {
namespace {

enum class Form { Yaml, Legacy, Ini };

std::string readData(const std::string& name) {
    std::ifstream in(std::string(ETMEM_TEST_DATA_DIR) + "/config/etmem-1.1/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A one-task project in the given form, with one extra project key and one extra task key.
std::string configWith(Form form, const std::string& projectKey, const std::string& value,
                       const std::string& taskKey = "", const std::string& taskValue = "") {
    switch (form) {
        case Form::Yaml:
            return "options:\n  loop: 2\n  interval: 1\n  sleep: 1\n" +
                   (projectKey.empty() ? "" : "  " + projectKey + ": " + value + "\n") +
                   "  policies:\n    - type: pid\n      value: 1\n      engine: slide\n"
                   "      param:\n        T: 1\n" +
                   (taskKey.empty() ? "" : "      " + taskKey + ": " + taskValue + "\n");
        case Form::Legacy:
            return "options:\n\tloop : 2\n\tinterval : 1\n\tsleep : 1\n" +
                   (projectKey.empty() ? "" : "\t" + projectKey + " : " + value + "\n") +
                   "\tpolicies:\n\t\ttype : pid\n\t\tvalue : 1\n\t\tengine : slide\n" +
                   (taskKey.empty() ? "" : "\t\t" + taskKey + " : " + taskValue + "\n") +
                   "\t\tparam:\n\t\t\tT : 1\n";
        case Form::Ini:
            return "[project]\nname=p\nloop=2\ninterval=1\nsleep=1\n" +
                   (projectKey.empty() ? "" : projectKey + "=" + value + "\n") +
                   "[engine]\nname=slide\nproject=p\n[task]\nproject=p\nengine=slide\nname=t\n"
                   "type=pid\nvalue=1\nT=1\n" +
                   (taskKey.empty() ? "" : taskKey + "=" + taskValue + "\n");
    }
    return "";
}

constexpr Form kForms[] = {Form::Yaml, Form::Legacy, Form::Ini};

// The line of configWith's extra project key (the INI form has name= before it).
int projectKeyLine(Form form) {
    return form == Form::Ini ? 6 : 5;
}

std::string formName(Form form) {
    return form == Form::Yaml ? "yaml" : form == Form::Legacy ? "legacy" : "ini";
}

ProjectConfig parse(const std::string& text) {
    return parseConfig(text, {});
}

ConfigError errorOf(const std::string& text) {
    try {
        parse(text);
    } catch (const ConfigError& error) {
        return error;
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return ConfigError(0, 0, "", "", "");
}

bool contains(const ConfigError& error, const std::string& part) {
    return std::string(error.what()).find(part) != std::string::npos;
}

TEST(ConfigIni, ExampleFileOf11Parses) {
    const std::string text = readData("slide_conf.yaml");
    EXPECT_EQ(detectFormat(text), ConfigFormat::Ini);
    const ProjectConfig config = parse(text);
    EXPECT_EQ(config.loop, 1u);
    EXPECT_EQ(config.sysmemThreshold, 50u);
    EXPECT_EQ(config.swapcacheHighWmark, 10u);
    EXPECT_EQ(config.swapcacheLowWmark, 6u);
    ASSERT_EQ(config.tasks.size(), 1u);
    const TaskConfig& task = config.tasks[0];
    EXPECT_EQ(task.name, "background_slide");
    EXPECT_EQ(task.type, TaskType::Name);
    EXPECT_EQ(task.value, "mysql");
    EXPECT_EQ(task.slide.T, 1u);
    EXPECT_EQ(task.slide.swapThresholdBytes, 10ULL << 30);
    EXPECT_TRUE(task.slide.swapFlag);
    EXPECT_EQ(task.slide.scanner, "auto");
    // The normalized YAML keeps every 1.1 key and reads back to the same project.
    EXPECT_EQ(parse(toYaml(config)), config);
    EXPECT_NE(toYaml(config).find("swap_threshold: 10g"), std::string::npos) << toYaml(config);
}

TEST(ConfigIni, ReadmeExampleOf11Parses) {
    const ProjectConfig config = parse(readData("readme_slide.yaml"));
    EXPECT_FALSE(config.sysmemThreshold);
    ASSERT_EQ(config.tasks.size(), 1u);
    EXPECT_EQ(config.tasks[0].value, "mysql");
    EXPECT_FALSE(config.tasks[0].slide.swapFlag);
}

TEST(ConfigIni, OtherFormsAreStillDetectedAsBefore) {
    EXPECT_EQ(detectFormat(configWith(Form::Yaml, "", "")), ConfigFormat::Yaml);
    EXPECT_EQ(detectFormat(configWith(Form::Legacy, "", "")), ConfigFormat::Legacy);
    EXPECT_EQ(detectFormat("# comment\n\n  [project]\nname=x\n"), ConfigFormat::Ini);
}

TEST(ConfigIni, ProjectGateEdgesInEveryForm) {
    for (Form form : kForms) {
        SCOPED_TRACE(formName(form));
        EXPECT_EQ(parse(configWith(form, "sysmem_threshold", "0")).sysmemThreshold, 0u);
        EXPECT_EQ(parse(configWith(form, "sysmem_threshold", "100")).sysmemThreshold, 100u);
        EXPECT_FALSE(parse(configWith(form, "", "")).sysmemThreshold);
        ConfigError high = errorOf(configWith(form, "sysmem_threshold", "101"));
        EXPECT_EQ(high.key(), "options.sysmem_threshold");
        EXPECT_TRUE(contains(high, "0..100")) << high.what();
        EXPECT_EQ(high.line(), projectKeyLine(form));
        EXPECT_TRUE(contains(errorOf(configWith(form, "sysmem_threshold", "-1")), "0..100"));
        EXPECT_TRUE(contains(errorOf(configWith(form, "sysmem_threshold", "x")), "whole number"));
    }
}

TEST(ConfigIni, SwapcacheMarksInEveryForm) {
    for (Form form : kForms) {
        SCOPED_TRACE(formName(form));
        const auto marks = [&](const std::string& high, const std::string& low) {
            std::string text = configWith(form, "swapcache_high_wmark", high);
            const std::string sep = form == Form::Ini ? "=" : form == Form::Yaml ? ": " : " : ";
            const std::string indent = form == Form::Ini ? "" : form == Form::Yaml ? "  " : "\t";
            const std::string line = indent + "swapcache_high_wmark" + sep + high + "\n";
            text.insert(text.find(line) + line.size(),
                        indent + "swapcache_low_wmark" + sep + low + "\n");
            return text;
        };
        ProjectConfig edge = parse(marks("100", "99"));
        EXPECT_EQ(edge.swapcacheHighWmark, 100u);
        EXPECT_EQ(edge.swapcacheLowWmark, 99u);
        EXPECT_EQ(parse(marks("2", "1")).swapcacheLowWmark, 1u);
        EXPECT_TRUE(contains(errorOf(marks("101", "1")), "1..100"));
        EXPECT_TRUE(contains(errorOf(marks("10", "0")), "1..100"));
        ConfigError notBelow = errorOf(marks("10", "10"));
        EXPECT_EQ(notBelow.key(), "options.swapcache_low_wmark");
        EXPECT_EQ(notBelow.line(), projectKeyLine(form) + 1);
        EXPECT_TRUE(contains(notBelow, "allowed 1..9")) << notBelow.what();
        ConfigError alone = errorOf(configWith(form, "swapcache_high_wmark", "10"));
        EXPECT_TRUE(contains(alone, "needs 'swapcache_low_wmark'")) << alone.what();
        EXPECT_EQ(alone.line(), projectKeyLine(form));
    }
}

TEST(ConfigIni, SwapThresholdSizesInEveryForm) {
    for (Form form : kForms) {
        SCOPED_TRACE(formName(form));
        const auto size = [&](const std::string& value) {
            return parse(configWith(form, "", "", "swap_threshold", value))
                .tasks[0]
                .slide.swapThresholdBytes;
        };
        EXPECT_EQ(size("10g"), 10ULL << 30);
        EXPECT_EQ(size("10G"), 10ULL << 30);
        EXPECT_EQ(size("1k"), 1024u);
        EXPECT_EQ(size("512m"), 512ULL << 20);
        EXPECT_EQ(size("1024t"), 1024ULL << 40);
        EXPECT_EQ(parse(configWith(form, "", "")).tasks[0].slide.swapThresholdBytes, 0u);
        for (std::string bad : {"0g", "1025t", "10", "10x", "g", "-1g", "1.5g"}) {
            ConfigError error = errorOf(configWith(form, "", "", "swap_threshold", bad));
            EXPECT_TRUE(contains(error, "such as 10g")) << error.what();
            EXPECT_NE(error.key().find("swap_threshold"), std::string::npos) << error.key();
            EXPECT_GT(error.line(), 0);
        }
    }
}

TEST(ConfigIni, DramPercentSwapFlagAndNameInEveryForm) {
    for (Form form : kForms) {
        SCOPED_TRACE(formName(form));
        const auto task = [&](const std::string& key, const std::string& value) {
            return parse(configWith(form, "", "", key, value)).tasks[0];
        };
        EXPECT_EQ(task("dram_percent", "1").slide.dramPercent, 1u);
        EXPECT_EQ(task("dram_percent", "100").slide.dramPercent, 100u);
        EXPECT_TRUE(contains(errorOf(configWith(form, "", "", "dram_percent", "0")), "1..100"));
        EXPECT_TRUE(contains(errorOf(configWith(form, "", "", "dram_percent", "101")), "1..100"));
        EXPECT_TRUE(task("swap_flag", "yes").slide.swapFlag);
        EXPECT_FALSE(task("swap_flag", "no").slide.swapFlag);
        ConfigError flag = errorOf(configWith(form, "", "", "swap_flag", "true"));
        EXPECT_TRUE(contains(flag, "yes and no")) << flag.what();
        if (form != Form::Ini) {  // the INI form always names its tasks
            EXPECT_EQ(task("name", std::string(64, 'a')).name, std::string(64, 'a'));
            EXPECT_TRUE(
                contains(errorOf(configWith(form, "", "", "name", std::string(65, 'a'))), "1..64"));
        }
    }
}

TEST(ConfigIni, ErrorsHaveLineColumnAndSuggestions) {
    ConfigError typo = errorOf("[project]\nname=p\nloop=1\nintervall=1\nsleep=1\n");
    EXPECT_EQ(typo.line(), 4);
    EXPECT_EQ(typo.column(), 1);
    EXPECT_TRUE(contains(typo, "did you mean 'interval'")) << typo.what();

    ConfigError misplaced = errorOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n"
        "  swap_threshold = 1g\n");
    EXPECT_EQ(misplaced.line(), 6);
    EXPECT_EQ(misplaced.column(), 3);
    EXPECT_TRUE(contains(misplaced, "goes in [task]")) << misplaced.what();

    ConfigError section = errorOf("[projcet]\nname=p\n");
    EXPECT_EQ(section.line(), 1);
    EXPECT_TRUE(contains(section, "did you mean '[project]'")) << section.what();

    ConfigError range = errorOf("[project]\nname=p\nloop=0\ninterval=1\nsleep=1\n");
    EXPECT_EQ(range.line(), 3);
    EXPECT_EQ(range.column(), 6);
    EXPECT_EQ(range.key(), "options.loop");
    EXPECT_TRUE(contains(range, "1..120")) << range.what();

    ConfigError missing = errorOf("\n[project]\nname=p\nloop=1\ninterval=1\n");
    EXPECT_EQ(missing.line(), 2);
    EXPECT_TRUE(contains(missing, "'sleep' is missing")) << missing.what();

    ConfigError noEquals = errorOf("[project]\nname p\n");
    EXPECT_EQ(noEquals.line(), 2);
    EXPECT_TRUE(contains(noEquals, "key=value")) << noEquals.what();

    ConfigError wrongProject = errorOf(configWith(Form::Ini, "", "") +
                                       "[task]\nproject=q\nengine=slide\nname=u\n"
                                       "type=pid\nvalue=2\nT=1\n");
    EXPECT_EQ(wrongProject.line(), 17);
    EXPECT_EQ(wrongProject.column(), 9);
    EXPECT_TRUE(contains(wrongProject, "one file adds to one project")) << wrongProject.what();

    ConfigError undeclared = errorOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[task]\nproject=p\nengine=slide\n"
        "name=t\ntype=pid\nvalue=1\nT=1\n");
    EXPECT_EQ(undeclared.line(), 8);
    EXPECT_TRUE(contains(undeclared, "no [engine] section")) << undeclared.what();

    ConfigError psi = errorOf("[project]\nname=p\nscan_type=pmu\nloop=1\ninterval=1\nsleep=1\n");
    EXPECT_EQ(psi.line(), 3);
    EXPECT_TRUE(contains(psi, "page | region | psi")) << psi.what();

    ConfigError noT = errorOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\n"
        "name=slide\nproject=p\n[task]\nproject=p\nengine=slide\nname=t\n"
        "type=pid\nvalue=1\n");
    EXPECT_EQ(noT.line(), 9);
    EXPECT_TRUE(contains(noT, "'T' is missing from the [task] section")) << noT.what();
}

TEST(ConfigIni, RegionScanTypePicksDamonScanner) {
    std::string text = configWith(Form::Ini, "scan_type", "region");
    EXPECT_EQ(parse(text).tasks[0].slide.scanner, "damon");
    EXPECT_EQ(parse(configWith(Form::Ini, "scan_type", "page")).tasks[0].slide.scanner, "auto");
}

// etmem 1.1's region keys (realapp's schema) reach the model from every form, and their
// range errors keep the INI line.
TEST(ConfigIni, RegionKeysInEveryForm) {
    for (Form form : kForms) {
        SCOPED_TRACE(formName(form));
        EXPECT_EQ(parse(configWith(form, "sample_interval", "5000")).region.sampleIntervalUs,
                  5000u);
        EXPECT_EQ(parse(configWith(form, "min_nr_regions", "3")).region.minNrRegions, 3u);
        const ConfigError tooFew = errorOf(configWith(form, "min_nr_regions", "2"));
        EXPECT_EQ(tooFew.line(), projectKeyLine(form));
        EXPECT_EQ(tooFew.key(), "options.min_nr_regions");
    }
    std::string text = configWith(Form::Ini, "scan_type", "region");
    text.insert(text.find("[engine]"), "aggr_interval=200000\n");
    const ProjectConfig region = parse(text);
    EXPECT_EQ(region.region.aggrIntervalUs, 200000u);
    EXPECT_EQ(region.tasks[0].slide.scanner, "damon");
}

// The pacing keys and the unit/cgroup target types are this etmem's, in the INI form too.
TEST(ConfigIni, PacingKeysAndUnitTargetsInTheIniForm) {
    const ProjectConfig paced = parse(configWith(Form::Ini, "", "", "max_swap_rate", "8M"));
    EXPECT_EQ(paced.tasks[0].slide.maxSwapRate, 8u << 20);
    EXPECT_EQ(
        parse(configWith(Form::Ini, "", "", "pressure_limit", "2.5")).tasks[0].slide.pressureLimit,
        2.5);
    EXPECT_EQ(parse(configWith(Form::Ini, "", "", "cold_cycles", "2")).tasks[0].slide.coldCycles,
              2u);
    std::string unit = configWith(Form::Ini, "", "");
    unit.replace(unit.find("type=pid\nvalue=1"), 16, "type=unit\nvalue=mysql.service");
    EXPECT_EQ(parse(unit).tasks[0].type, TaskType::Unit);
    EXPECT_EQ(parse(unit).tasks[0].value, "mysql.service");
}

TEST(ConfigIni, ObjAddSequenceBuildsTheWholeProject) {
    ProjectConfig project = parse(readData("proj.config"));
    EXPECT_TRUE(project.tasks.empty());
    EXPECT_EQ(project.sysmemThreshold, 80u);
    const IniObjects engine = describeIniObjects(readData("eng.config"));
    EXPECT_EQ(engine.project, "test");
    EXPECT_FALSE(engine.hasProject);
    EXPECT_EQ(engine.engines, std::vector<std::string>{"slide"});
    project = addIniObjects(project, readData("eng.config"), {});
    EXPECT_TRUE(project.tasks.empty());
    project = addIniObjects(project, readData("task.config"), {});
    ASSERT_EQ(project.tasks.size(), 1u);
    EXPECT_EQ(project.tasks[0].name, "background1");
    EXPECT_EQ(project.tasks[0].slide.T, 3u);
    EXPECT_EQ(project.tasks[0].slide.dramPercent, 40u);
    EXPECT_EQ(project.tasks[0].slide.swapThresholdBytes, 1ULL << 30);
    EXPECT_EQ(parse(toYaml(project)), project);

    // The same task twice is refused where the second file names it.
    try {
        addIniObjects(project, readData("task.config"), {});
        FAIL() << "a task was added twice";
    } catch (const ConfigError& error) {
        EXPECT_EQ(error.line(), 4);
        EXPECT_TRUE(contains(error, "exists")) << error.what();
    }
    // A project file cannot be added to an existing project.
    EXPECT_THROW(addIniObjects(project, readData("proj.config"), {}), ConfigError);
    // T is checked against the project's loop (3): 10 is beyond 3*loop=9.
    std::string tooHot = readData("task.config");
    tooHot.replace(tooHot.find("T=3"), 3, "T=10");
    tooHot.replace(tooHot.find("background1"), 11, "background2");
    EXPECT_THROW(addIniObjects(project, tooHot, {}), ConfigError);

    // obj del: the task file removes the task, the engine file every task of the engine.
    EXPECT_TRUE(removeIniObjects(project, readData("task.config")).tasks.empty());
    EXPECT_TRUE(removeIniObjects(project, readData("eng.config")).tasks.empty());
    ProjectConfig empty = removeIniObjects(project, readData("task.config"));
    EXPECT_THROW(removeIniObjects(empty, readData("task.config")), ConfigError);
}

TEST(ConfigIni, FragmentWithoutProjectIsNotAWholeProject) {
    ConfigError error = errorOf(readData("task.config"));
    EXPECT_TRUE(contains(error, "etmem obj add")) << error.what();
}

}  // namespace
}  // namespace etmem
