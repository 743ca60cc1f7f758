// SPDX-License-Identifier: MulanPSL-2.0
// The psi engine's figures in `etmem project show --format=openmetrics`: written for the
// projects and tasks that report them, and only for those.
#include <gtest/gtest.h>

#include "metrics.hpp"

namespace etmem::cli {
namespace {

TEST(PsiMetrics, ReclaimFiguresBecomeMetricsOfTheProjectsThatHaveThem) {
    ProjectInfo psi;
    psi.name = "reclaim";
    psi.state = "running";
    psi.stats.others = {{"bytes_reclaimed", std::uint64_t{8192}},
                        {"total_bytes_reclaimed", std::uint64_t{1 << 20}},
                        {"total_reclaim_backoffs", std::uint64_t{3}},
                        {"pressure", std::string("0.085")},
                        {"reclaim_rate", std::string("0.06")}};
    TaskStatistics task{"cgroup:work.slice", psi.stats};
    psi.taskStatistics.push_back(task);
    ProjectInfo slide;
    slide.name = "slide";
    slide.state = "running";
    const std::string text = renderMetrics({psi, slide}, MetricsFormat::OpenMetrics);
    EXPECT_NE(text.find("# TYPE etmem_project_reclaimed_bytes counter\n"), std::string::npos);
    EXPECT_NE(text.find("etmem_project_reclaimed_bytes_total{project=\"reclaim\"} 1048576\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_task_memory_pressure_percent{project=\"reclaim\",task=\"cgroup:"
                        "work.slice\"} 0.085\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_project_reclaim_backoffs_total{project=\"reclaim\"} 3\n"),
              std::string::npos);
    EXPECT_EQ(text.find("reclaimed_bytes_total{project=\"slide\"}"), std::string::npos);
    EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
}

}  // namespace
}  // namespace etmem::cli
