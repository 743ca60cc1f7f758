// SPDX-License-Identifier: MulanPSL-2.0
// `etmem project show` for unit targets and pacing: the cgroup a unit resolved to, why it
// has no process, and what held swap-out back, in the table and in JSON.
#include <gtest/gtest.h>

#include <string>

#include "render.hpp"

namespace etmem::cli {
namespace {

ProjectInfo unitProject() {
    ProjectInfo project;
    project.name = "db";
    project.state = "running";
    project.tasks.push_back({"unit", "mysql.service", 1, "slide", 2});
    project.tasks.push_back({"unit", "cache.service", 1, "slide", 2});
    project.taskTargets = {{"unit:mysql.service", "system.slice/mysql.service", ""},
                           {"unit:cache.service", "", "unit cache.service is not loaded"}};
    project.taskPacing = {
        {"unit:mysql.service", true, false,
         "max_swap_rate 8M/s: 12 cold pages wait for the next cycle", 8 * 1024 * 1024, 3.25},
        {"unit:cache.service", false, false, "", 0, -1}};
    return project;
}

TEST(CliRenderUnits, TableShowsTheCgroupTheNoteAndThePacing) {
    const std::string table = renderTable({unitProject()});
    EXPECT_NE(table.find("  unit:mysql.service: cgroup system.slice/mysql.service\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("  unit:cache.service: unit cache.service is not loaded\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("  unit:mysql.service: swap-out paced (rate 8M/s, memory pressure "
                         "3.2%): max_swap_rate 8M/s: 12 cold pages wait for the next cycle\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("  unit:cache.service: swap-out not paced\n"), std::string::npos) << table;
}

TEST(CliRenderUnits, JsonCarriesTargetsAndPacingOnlyWhenThereAreAny) {
    // Whitespace out: the writer indents; the needles hold no spaces.
    std::string json = renderJson({unitProject()});
    std::erase_if(json, [](char c) { return c == ' ' || c == '\n'; });
    EXPECT_NE(json.find("\"targets\":[{\"task\":\"unit:mysql.service\",\"cgroup\":\"system.slice/"
                        "mysql.service\",\"note\":\"\"}"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("\"paced\":true,\"paused\":false"), std::string::npos) << json;
    EXPECT_NE(json.find("\"rate\":8388608,\"pressure_tenths\":32"), std::string::npos) << json;
    ProjectInfo plain;
    plain.name = "p";
    EXPECT_EQ(renderJson({plain}).find("\"targets\""), std::string::npos);
}

}  // namespace
}  // namespace etmem::cli
