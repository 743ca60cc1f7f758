// SPDX-License-Identifier: MulanPSL-2.0
// mode (act | observe): on a task and on a project, in every file form, checked with a
// clear error, written by normalized YAML; a task's own mode wins over its project's.
#include <gtest/gtest.h>

#include <string>

#include "etmem/config.hpp"
#include "etmem/settings.hpp"

namespace etmem {
namespace {

using slide::RunMode;

std::string yamlWith(const std::string& projectLines, const std::string& taskLines) {
    return "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n" + projectLines +
           "  policies:\n    type: pid\n    value: 1\n    engine: slide\n    param:\n"
           "      T: 1\n" +
           taskLines;
}

ConfigError rejectionOf(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& e) {
        return e;
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return ConfigError(0, 0, "", "", "");
}

TEST(ConfigMode, UnsetIsActAndATasksModeWinsOverItsProjects) {
    ProjectConfig none = parseConfig(yamlWith("", ""), {});
    EXPECT_FALSE(none.mode);
    EXPECT_FALSE(none.tasks.at(0).slide.mode);
    EXPECT_EQ(effectiveMode(none, none.tasks.at(0)), RunMode::Act);

    ProjectConfig project = parseConfig(yamlWith("  mode: observe\n", ""), {});
    EXPECT_EQ(project.mode, RunMode::Observe);
    EXPECT_EQ(effectiveMode(project, project.tasks.at(0)), RunMode::Observe);

    ProjectConfig task = parseConfig(yamlWith("  mode: observe\n", "    mode: act\n"), {});
    EXPECT_EQ(task.tasks.at(0).slide.mode, RunMode::Act);
    EXPECT_EQ(effectiveMode(task, task.tasks.at(0)), RunMode::Act);
}

TEST(ConfigMode, NormalizedYamlWritesBothAndReadsThemBack) {
    ProjectConfig config = parseConfig(yamlWith("  mode: observe\n", "    mode: act\n"), {});
    const std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("\n  mode: observe\n"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("\n      mode: act\n"), std::string::npos) << yaml;
    EXPECT_EQ(parseConfig(yaml, {}), config);
    // Unset stays unset: nothing is written.
    EXPECT_EQ(toYaml(parseConfig(yamlWith("", ""), {})).find("mode"), std::string::npos);
}

TEST(ConfigMode, AWrongValueNamesKeyValueAndWhatIsAllowed) {
    const ConfigError task = rejectionOf(yamlWith("", "    mode: dry\n"));
    EXPECT_EQ(task.key(), "options.policies.mode");
    EXPECT_STREQ(task.what(),
                 "line 11, column 11: options.policies.mode: value 'dry' is not a known mode; "
                 "allowed act and observe");
    const ConfigError project = rejectionOf(yamlWith("  mode: Observe\n", ""));
    EXPECT_EQ(project.key(), "options.mode");
    EXPECT_NE(std::string(project.what()).find("allowed act and observe"), std::string::npos)
        << project.what();
}

TEST(ConfigMode, Etmem11TakesItInProjectAndTask) {
    const std::string ini =
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\nmode=observe\n\n[engine]\nname=slide\n"
        "project=p\n\n[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\n"
        "mode=act\n";
    ProjectConfig config = parseConfig(ini, {});
    EXPECT_EQ(config.mode, RunMode::Observe);
    EXPECT_EQ(config.tasks.at(0).slide.mode, RunMode::Act);
    const ConfigError bad = rejectionOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\nmode=watch\n\n[engine]\nname=slide\n"
        "project=p\n");
    EXPECT_NE(std::string(bad.what()).find("value 'watch' is not a known mode"), std::string::npos)
        << bad.what();
}

// etmem 1.0's line form: before the first policies: it is the project's, after, the task's.
TEST(ConfigMode, Etmem10TakesItBeforeAndAfterPolicies) {
    const std::string lines =
        "options:\n\tloop : 1\n\tinterval : 1\n\tsleep : 1\n\tmode : observe\n\tpolicies:\n"
        "\t\ttype : pid\n\t\tvalue : 1\n\t\tmax_threads : 1\n\t\tengine : slide\n\t\tparam:\n"
        "\t\t\tT : 1\n\t\tmode : act\n";
    ProjectConfig config = parseConfig(lines, {});
    EXPECT_EQ(config.mode, RunMode::Observe);
    EXPECT_EQ(config.tasks.at(0).slide.mode, RunMode::Act);
}

TEST(ConfigMode, TheTasksSettingsShowTheModeItRunsIn) {
    ProjectConfig config = parseConfig(yamlWith("  mode: observe\n", ""), {});
    const FigureList settings = taskSettings(config, config.tasks.at(0));
    ASSERT_NE(settings.find("mode"), nullptr);
    EXPECT_EQ(settings.find("mode")->value, FigureValue(std::string("observe")));
}

}  // namespace
}  // namespace etmem
