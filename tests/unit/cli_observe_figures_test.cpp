// SPDX-License-Identifier: MulanPSL-2.0
// The dry run, refaults and idle ages in `etmem project show` (lines and a chart of their
// own, labelled) and in the metrics (families of their own, the dry run's named would_swap).
#include <gtest/gtest.h>

#include <string>

#include "metrics.hpp"
#include "observe_figures.hpp"
#include "render.hpp"

namespace etmem::cli {
namespace {

ProjectInfo dryRunProject() {
    ProjectInfo p;
    p.name = "web";
    p.state = "running";
    p.loop = 1;
    p.interval = 1;
    p.sleep = 1;
    p.tasks = {{"name", "mysqld", 1, "slide", 1}};
    p.stats.pids = {7};
    p.stats.cycles = 4;
    p.stats.others = {{"would_swap_pages", std::uint64_t{256}},
                      {"would_swap_bytes", std::uint64_t{1048576}},
                      {"refaults", std::uint64_t{3}},
                      {"idle_bytes_1", std::uint64_t{4194304}},
                      {"idle_bytes_2", std::uint64_t{2097152}},
                      {"idle_bytes_4", std::uint64_t{1048576}},
                      {"idle_bytes_8", std::uint64_t{0}},
                      {"pages_migrated", std::uint64_t{5}},
                      {"total_would_swap_pages", std::uint64_t{1024}},
                      {"total_would_swap_bytes", std::uint64_t{4194304}},
                      {"total_refaults", std::uint64_t{9}}};
    p.taskStatistics = {{"name:mysqld", p.stats}};
    return p;
}

TEST(CliObserveFigures, PickedOutByNameWithAgesInOrder) {
    const ObserveFigures figures = observeFigures(dryRunProject().stats);
    EXPECT_EQ(figures.wouldSwapPages, 256u);
    EXPECT_EQ(figures.totalWouldSwapBytes, 4194304u);
    EXPECT_EQ(figures.totalRefaults, 9u);
    ASSERT_EQ(figures.idleBytes.size(), 4u);
    EXPECT_EQ(figures.idleBytes[0], (std::pair<unsigned, std::uint64_t>{1, 4194304}));
    EXPECT_EQ(figures.idleBytes[3].first, 8u);
    EXPECT_TRUE(isObserveFigure("idle_bytes_128"));
    EXPECT_FALSE(isObserveFigure("idle_bytes_"));
    EXPECT_FALSE(isObserveFigure("idle_bytes_x"));
    EXPECT_FALSE(isObserveFigure("pages_migrated"));
}

TEST(CliObserveFigures, ProjectShowLabelsTheDryRunAndChartsTheIdleAges) {
    const std::string table = renderTable({dryRunProject()});
    EXPECT_NE(table.find("  dry run:       mode observe, nothing moved; would have swapped out "
                         "256 pages (1.0 MiB) in the last cycle, 1024 pages (4.0 MiB) since "
                         "start\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("  refaults:      3 swapped pages came back in the last cycle, 9 since "
                         "start\n"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("  also:          pages_migrated 5\n"), std::string::npos) << table;
    EXPECT_NE(table.find("resident memory cold for at least n consecutive cycles (idle ages):\n"
                         "    >= 1 cycle   ########################################  4.0 MiB\n"
                         "    >= 2 cycles  ####################                      2.0 MiB\n"
                         "    >= 4 cycles  ##########                                1.0 MiB\n"
                         "    >= 8 cycles                                                0 B\n"),
              std::string::npos)
        << table;
}

TEST(CliObserveFigures, MetricsHaveFamiliesOfTheirOwn) {
    const std::string text = renderMetrics({dryRunProject()}, MetricsFormat::OpenMetrics);
    EXPECT_NE(text.find("# TYPE etmem_task_idle_bytes gauge\n# UNIT etmem_task_idle_bytes bytes\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_task_idle_bytes{project=\"web\",task=\"name:mysqld\","
                        "age_cycles=\"2\"} 2097152\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE etmem_task_refaults counter\n"), std::string::npos) << text;
    EXPECT_NE(text.find("etmem_task_refaults_total{project=\"web\",task=\"name:mysqld\"} 9\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_task_would_swap_bytes_total{project=\"web\",task=\"name:mysqld\"} "
                        "4194304\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_task_last_cycle_would_swap_bytes{project=\"web\",task=\"name:"
                        "mysqld\"} 1048576\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
    // Without such figures (an older daemon, another engine) there are no such families.
    ProjectInfo plain = dryRunProject();
    plain.taskStatistics[0].stats.others.clear();
    EXPECT_EQ(renderMetrics({plain}, MetricsFormat::Prometheus).find("idle_bytes"),
              std::string::npos);
}

}  // namespace
}  // namespace etmem::cli
