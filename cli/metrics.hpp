// SPDX-License-Identifier: MulanPSL-2.0
// `etmem project show --format=openmetrics|prometheus`: every project's and task's counters
// as metrics for a fleet's monitoring (node_exporter's textfile collector, a Prometheus
// scrape). Pure rendering: no bus.
#pragma once

#include "project_info.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace etmem::cli {

enum class MetricsFormat {
    // OpenMetrics 1.0 text: # TYPE/# UNIT/# HELP name the family, counter samples end in
    // _total, the exposition ends with "# EOF".
    OpenMetrics,
    // Prometheus text format 0.0.4, which node_exporter's textfile collector reads: the
    // same samples; # TYPE/# HELP name the sample (counters with _total), no # UNIT/# EOF.
    Prometheus,
};

// Families etmem_project_* (label project) and etmem_task_* (labels project and task), so
// a sum over one family never counts a task twice. Names carry their units (_bytes,
// _seconds, _pages); counters are the totals since the project started, gauges the last
// cycle's figures.
std::string renderMetrics(const std::vector<ProjectInfo>& projects, MetricsFormat format);

// "openmetrics" / "prometheus"; false for any other word.
bool parseMetricsFormat(std::string_view word, MetricsFormat& format);

}  // namespace etmem::cli
