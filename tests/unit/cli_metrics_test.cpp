// SPDX-License-Identifier: MulanPSL-2.0
// etmem project show --format=openmetrics|prometheus: a fixed set of projects rendered
// exactly, and the rules the two formats impose checked line by line.
#include "metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace etmem::cli {
namespace {

std::vector<ProjectInfo> fixedProjects() {
    ProjectInfo web;
    web.name = "web";
    web.state = "running";
    web.stats.pids = {101, 102};
    web.stats.cycles = 7;
    web.stats.pagesScanned = 1000;
    web.stats.pagesHot = 300;
    web.stats.pagesCold = 700;
    web.stats.pagesSwapped = 690;
    web.stats.bytesSwapped = 690 * 4096;
    web.stats.lastCycleUSec = 1234567;
    web.stats.totalPagesSwapped = 5000;
    web.stats.totalBytesSwapped = 5000 * 4096;
    TaskStatistics task;
    task.task = "name:mysqld";
    task.stats = web.stats;
    web.taskStatistics.push_back(task);

    ProjectInfo odd;  // a name that needs escaping, stopped, no cycle yet
    odd.name = "a\"b\\c";
    odd.state = "stopped";
    return {web, odd};
}

TEST(CliMetrics, OpenMetricsOfAFixedInput) {
    const std::string text = renderMetrics(fixedProjects(), MetricsFormat::OpenMetrics);
    const std::string head =
        "# TYPE etmem_project_running gauge\n"
        "# HELP etmem_project_running 1 while the project runs, 0 when it is stopped or "
        "failed.\n"
        "etmem_project_running{project=\"web\"} 1\n"
        "etmem_project_running{project=\"a\\\"b\\\\c\"} 0\n"
        "# TYPE etmem_project_cycles counter\n"
        "# HELP etmem_project_cycles Cycles completed since the project started.\n"
        "etmem_project_cycles_total{project=\"web\"} 7\n"
        "etmem_project_cycles_total{project=\"a\\\"b\\\\c\"} 0\n"
        "# TYPE etmem_project_swapped_pages counter\n";
    EXPECT_EQ(text.substr(0, head.size()), head);
    EXPECT_NE(text.find("# TYPE etmem_project_swapped_bytes counter\n"
                        "# UNIT etmem_project_swapped_bytes bytes\n"
                        "# HELP etmem_project_swapped_bytes Bytes swapped out since the project "
                        "started (confirmed by pagemap).\n"
                        "etmem_project_swapped_bytes_total{project=\"web\"} 20480000\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("etmem_project_last_cycle_duration_seconds{project=\"web\"} 1.234567\n"),
              std::string::npos);
    EXPECT_NE(text.find("# UNIT etmem_task_last_cycle_duration_seconds seconds\n"),
              std::string::npos);
    EXPECT_NE(text.find("etmem_task_last_cycle_swapped_bytes{project=\"web\",task=\"name:mysqld\"} "
                        "2826240\n"),
              std::string::npos);
    EXPECT_NE(text.find("etmem_project_targets{project=\"web\"} 2\n"), std::string::npos);
    EXPECT_TRUE(text.ends_with("\n# EOF\n") || text.ends_with("} 0\n# EOF\n"));
    EXPECT_EQ(text.find("# EOF"), text.size() - 6) << "# EOF only at the end";
}

// What OpenMetrics requires of every line: a family is declared once, before its samples,
// which are contiguous; counter samples end in _total; a UNIT is the name's suffix.
TEST(CliMetrics, OpenMetricsRulesHoldOnEveryLine) {
    const std::string text = renderMetrics(fixedProjects(), MetricsFormat::OpenMetrics);
    std::istringstream lines(text);
    std::string line, current;
    std::map<std::string, std::string> types;
    std::set<std::string> finished;
    const std::regex meta("# (TYPE|UNIT|HELP) ([a-z_]+) (.+)");
    const std::regex sample(
        "([a-z_]+)\\{project=\"[^\"\\\\]*(\\\\.[^\"\\\\]*)*\"(,task=\"[^\"]*\")?\\} "
        "[0-9]+(\\.[0-9]+)?");
    int samples = 0;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (line == "# EOF") continue;
        if (std::regex_match(line, m, meta)) {
            if (m[1] == "TYPE") {
                ASSERT_FALSE(types.contains(m[2])) << "declared twice: " << line;
                if (!current.empty()) finished.insert(current);
                current = m[2];
                types[current] = m[3];
                ASSERT_TRUE(m[3] == "counter" || m[3] == "gauge") << line;
            } else {
                EXPECT_EQ(m[2], current) << "metadata after another family's: " << line;
                if (m[1] == "UNIT") {
                    EXPECT_TRUE(current.ends_with("_" + m[3].str())) << line;
                }
            }
            continue;
        }
        ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
        std::string name = m[1];
        std::string family = types[current] == "counter" ? current + "_total" : current;
        EXPECT_EQ(name, family) << "sample outside its family: " << line;
        ++samples;
    }
    EXPECT_EQ(types.size(), 21u);
    EXPECT_EQ(samples, 2 * 11 + 10);  // two projects in 11 families, one task in 10
}

TEST(CliMetrics, PrometheusTextNamesTheSampleAndHasNoOpenMetricsLines) {
    const std::string text = renderMetrics(fixedProjects(), MetricsFormat::Prometheus);
    EXPECT_NE(text.find("# HELP etmem_project_cycles_total Cycles completed since the project "
                        "started.\n# TYPE etmem_project_cycles_total counter\n"
                        "etmem_project_cycles_total{project=\"web\"} 7\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("# UNIT"), std::string::npos);
    EXPECT_EQ(text.find("# EOF"), std::string::npos);
    // The samples are the same in both formats.
    auto samplesOf = [](const std::string& all) {
        std::istringstream in(all);
        std::string line, out;
        while (std::getline(in, line))
            if (!line.starts_with("#")) out += line + "\n";
        return out;
    };
    EXPECT_EQ(samplesOf(text),
              samplesOf(renderMetrics(fixedProjects(), MetricsFormat::OpenMetrics)));
}

TEST(CliMetrics, NoProjectsIsStillAValidExposition) {
    const std::string text = renderMetrics({}, MetricsFormat::OpenMetrics);
    EXPECT_TRUE(text.starts_with("# TYPE etmem_project_running gauge\n"));
    EXPECT_TRUE(text.ends_with("# EOF\n"));
    EXPECT_EQ(text.find("{"), std::string::npos);
}

}  // namespace
}  // namespace etmem::cli
