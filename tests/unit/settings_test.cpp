// SPDX-License-Identifier: MulanPSL-2.0
// The gates and engine settings the daemon reports, named and valued as the config writes
// them.
#include "etmem/settings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace etmem {
namespace {

std::vector<std::string> texts(const FigureList& figures) {
    std::vector<std::string> out;
    for (const auto& figure : figures)
        out.push_back(figure.name + " " + std::get<std::string>(figure.value));
    return out;
}

TEST(Settings, ProjectGatesOnlyWhenSet) {
    ProjectConfig project;
    EXPECT_TRUE(projectGates(project).empty());
    project.sysmemThreshold = 50;
    project.swapcacheHighWmark = 10;
    project.swapcacheLowWmark = 6;
    EXPECT_EQ(texts(projectGates(project)),
              (std::vector<std::string>{"sysmem_threshold 50", "swapcache_high_wmark 10",
                                        "swapcache_low_wmark 6"}));
}

TEST(Settings, TaskGatesAsTheConfigWritesThem) {
    TaskConfig task;
    EXPECT_EQ(texts(taskGates(task)), (std::vector<std::string>{"swap_flag no"}));
    task.slide.swapThresholdBytes = 10ull << 30;
    task.slide.dramPercent = 40;
    task.slide.swapFlag = true;
    EXPECT_EQ(texts(taskGates(task)),
              (std::vector<std::string>{"swap_threshold 10g", "dram_percent 40", "swap_flag yes"}));
    task.slide.swapThresholdBytes = 1536ull << 10;
    EXPECT_EQ(texts(taskGates(task)).front(), "swap_threshold 1536k");
}

TEST(Settings, TaskSettingsNameTheEngineAndWhatIsSet) {
    ProjectConfig project;
    project.region.minNrRegions = 10;
    TaskConfig task;
    task.slide.T = 3;
    task.slide.scanner = "damon";
    task.slide.maxSwapRate = 8 << 20;
    const FigureList settings = taskSettings(project, task);
    EXPECT_EQ(std::get<std::string>(settings.find("engine")->value), "slide");
    EXPECT_EQ(settings.count("T"), 3u);
    EXPECT_EQ(std::get<std::string>(settings.find("scanner")->value), "damon");
    EXPECT_EQ(std::get<std::string>(settings.find("swapper")->value), "auto");
    EXPECT_EQ(settings.count("cold_cycles"), 1u);
    EXPECT_EQ(settings.count("max_swap_rate"), 8u << 20);
    EXPECT_EQ(settings.find("pressure_limit"), nullptr);
    EXPECT_EQ(settings.count("min_nr_regions"), 10u);
    EXPECT_EQ(settings.find("sample_interval"), nullptr);
}

}  // namespace
}  // namespace etmem
