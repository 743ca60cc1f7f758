// SPDX-License-Identifier: MulanPSL-2.0
// OpenMetrics for memory tiers: the demoted/promoted counters, last cycle's gauges, the
// migration rate and the pages per node (label node) of a task that reports them; nothing of
// it where no task does.
#include <gtest/gtest.h>

#include <string>

#include "metrics.hpp"

namespace etmem::cli {
namespace {

ProjectInfo tieredProject() {
    ProjectInfo project;
    project.name = "kv";
    project.state = "running";
    project.stats.cycles = 3;
    project.stats.others = {{"pages_demoted", std::uint64_t{48}},
                            {"total_pages_demoted", std::uint64_t{96}},
                            {"pages_promoted", std::uint64_t{2}},
                            {"total_pages_promoted", std::uint64_t{5}},
                            {"pages_node0", std::uint64_t{16}},
                            {"pages_node1", std::uint64_t{48}},
                            {"migrate_bytes_per_second", std::uint64_t{8192}}};
    TaskStatistics task;
    task.task = "redis";
    task.stats = project.stats;
    project.taskStatistics.push_back(task);
    return project;
}

TEST(CliMetricsTiers, TasksWithTiersGetTheirFamilies) {
    const std::string text = renderMetrics({tieredProject()}, MetricsFormat::OpenMetrics);
    EXPECT_NE(text.find("# TYPE etmem_task_demoted_pages counter\n"), std::string::npos) << text;
    EXPECT_NE(text.find("etmem_task_demoted_pages_total{project=\"kv\",task=\"redis\"} 96\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_task_promoted_pages_total{project=\"kv\",task=\"redis\"} 5\n"),
              std::string::npos);
    EXPECT_NE(text.find("etmem_task_last_cycle_demoted_pages{project=\"kv\",task=\"redis\"} 48\n"),
              std::string::npos);
    EXPECT_NE(text.find("etmem_task_migration_rate_bytes{project=\"kv\",task=\"redis\"} 8192\n"),
              std::string::npos);
    EXPECT_NE(text.find("etmem_task_node_pages{project=\"kv\",task=\"redis\",node=\"1\"} 48\n"),
              std::string::npos)
        << text;
    EXPECT_TRUE(text.ends_with("# EOF\n"));
}

TEST(CliMetricsTiers, NoTiersNoFamilies) {
    ProjectInfo plain;
    plain.name = "p";
    plain.state = "running";
    const std::string text = renderMetrics({plain}, MetricsFormat::OpenMetrics);
    EXPECT_EQ(text.find("demoted"), std::string::npos);
    EXPECT_EQ(text.find("node_pages"), std::string::npos);
}

}  // namespace
}  // namespace etmem::cli
