// SPDX-License-Identifier: MulanPSL-2.0
#include "metrics.hpp"

#include "observe_figures.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <variant>
#include <vector>

namespace etmem::cli {
namespace {

enum class Kind { Counter, Gauge };

// One metric of a project's or a task's Statistics.
struct StatMetric {
    std::string_view name;  // after etmem_project_ / etmem_task_, without _total
    Kind kind;
    std::string_view unit;  // "" or the unit the name ends with
    std::string_view help;
    std::function<std::string(const Statistics&)> value;
};

std::string integer(std::uint64_t value) {
    return fmt::format("{}", value);
}

// Exact decimal seconds from microseconds (no binary floating point in between).
std::string secondsFromUsec(std::uint64_t usec) {
    return fmt::format("{}.{:06}", usec / 1000000, usec % 1000000);
}

const std::array<StatMetric, 10>& statMetrics() {
    static const std::array<StatMetric, 10> metrics = {{
        {"cycles", Kind::Counter, "", "Cycles completed since the project started.",
         [](const Statistics& s) { return integer(s.cycles); }},
        {"swapped_pages", Kind::Counter, "",
         "Pages swapped out since the project started (confirmed by pagemap).",
         [](const Statistics& s) { return integer(s.totalPagesSwapped); }},
        {"swapped_bytes", Kind::Counter, "bytes",
         "Bytes swapped out since the project started (confirmed by pagemap).",
         [](const Statistics& s) { return integer(s.totalBytesSwapped); }},
        {"last_cycle_scanned_pages", Kind::Gauge, "", "Candidate pages scanned in the last cycle.",
         [](const Statistics& s) { return integer(s.pagesScanned); }},
        {"last_cycle_hot_pages", Kind::Gauge, "", "Pages found hot in the last cycle.",
         [](const Statistics& s) { return integer(s.pagesHot); }},
        {"last_cycle_cold_pages", Kind::Gauge, "", "Pages found cold in the last cycle.",
         [](const Statistics& s) { return integer(s.pagesCold); }},
        {"last_cycle_swapped_pages", Kind::Gauge, "", "Pages swapped out in the last cycle.",
         [](const Statistics& s) { return integer(s.pagesSwapped); }},
        {"last_cycle_swapped_bytes", Kind::Gauge, "bytes", "Bytes swapped out in the last cycle.",
         [](const Statistics& s) { return integer(s.bytesSwapped); }},
        {"last_cycle_duration_seconds", Kind::Gauge, "seconds", "Duration of the last cycle.",
         [](const Statistics& s) { return secondsFromUsec(s.lastCycleUSec); }},
        {"targets", Kind::Gauge, "", "Target processes of the last cycle.",
         [](const Statistics& s) { return integer(s.pids.size()); }},
    }};
    return metrics;
}

// Figures of the psi and damon engines (Statistics::others), under the figure's name: written
// only for the projects and tasks that report them.
struct FigureMetric {
    std::string_view name;  // after etmem_project_ / etmem_task_, without _total
    std::string_view figure;
    Kind kind;
    std::string_view unit;
    std::string_view help;
};

constexpr FigureMetric kFigureMetrics[] = {
    {"reclaimed_bytes", "total_bytes_reclaimed", Kind::Counter, "bytes",
     "Bytes the psi engine reclaimed through memory.reclaim since the project started."},
    {"reclaim_backoffs", "total_reclaim_backoffs", Kind::Counter, "",
     "Rounds the psi engine backed off because pressure reached its goal."},
    {"last_cycle_reclaimed_bytes", "bytes_reclaimed", Kind::Gauge, "bytes",
     "Bytes the psi engine reclaimed in the last cycle."},
    {"memory_pressure_percent", "pressure", Kind::Gauge, "",
     "The psi engine's measured memory stall (PSI some) in the last cycle, percent of time."},
    {"reclaim_rate", "reclaim_rate", Kind::Gauge, "",
     "The psi engine's current reclaim rate (share of use above the floor per round)."},
    {"damos_tried_bytes", "total_damos_sz_tried", Kind::Counter, "bytes",
     "Bytes of regions the damon engine's DAMOS scheme tried since the project started."},
    {"damos_applied_bytes", "total_damos_sz_applied", Kind::Counter, "bytes",
     "Bytes of regions the damon engine's DAMOS scheme acted on since the project started."},
    {"damos_quota_exceeds", "total_damos_qt_exceeds", Kind::Counter, "",
     "Times the damon engine's DAMOS scheme reached its quota (max_swap_rate)."},
};

// The figure's value as a sample, or "" when the statistics do not have it.
std::string figureValue(const Statistics& stats, std::string_view figure) {
    for (const auto& other : stats.others) {
        if (other.name != figure) continue;
        if (const auto* count = std::get_if<std::uint64_t>(&other.value)) return integer(*count);
        if (const auto* text = std::get_if<std::string>(&other.value)) return *text;
    }
    return "";
}

// A count the daemon reports by name beyond the fields above (0 when it has none).
std::uint64_t otherCount(const Statistics& stats, std::string_view name) {
    for (const auto& figure : stats.others)
        if (figure.name == name)
            if (const auto* count = std::get_if<std::uint64_t>(&figure.value)) return *count;
    return 0;
}

bool hasOther(const Statistics& stats, std::string_view name) {
    for (const auto& figure : stats.others)
        if (figure.name == name) return true;
    return false;
}

// Memory tiers (cold_destination: node N): written only when some project reports them, so
// a fleet without tiers sees no new families.
const std::array<StatMetric, 5>& tierMetrics() {
    static const std::array<StatMetric, 5> metrics = {{
        {"demoted_pages", Kind::Counter, "",
         "Pages moved to the slower node since the project started (confirmed by move_pages).",
         [](const Statistics& s) { return integer(otherCount(s, "total_pages_demoted")); }},
        {"promoted_pages", Kind::Counter, "",
         "Pages moved back to the fast node since the project started (confirmed by "
         "move_pages).",
         [](const Statistics& s) { return integer(otherCount(s, "total_pages_promoted")); }},
        {"last_cycle_demoted_pages", Kind::Gauge, "", "Pages demoted in the last cycle.",
         [](const Statistics& s) { return integer(otherCount(s, "pages_demoted")); }},
        {"last_cycle_promoted_pages", Kind::Gauge, "", "Pages promoted in the last cycle.",
         [](const Statistics& s) { return integer(otherCount(s, "pages_promoted")); }},
        {"migration_rate_bytes", Kind::Gauge, "bytes",
         "Bytes migrated per second between nodes in the last cycle (both directions).",
         [](const Statistics& s) { return integer(otherCount(s, "migrate_bytes_per_second")); }},
    }};
    return metrics;
}

// Label values escape backslash, double quote and newline (both formats).
std::string labelValue(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

class Writer {
  public:
    explicit Writer(MetricsFormat format) : format_(format) {}

    void family(std::string_view name, Kind kind, std::string_view unit, std::string_view help) {
        sample_ = kind == Kind::Counter ? fmt::format("{}_total", name) : std::string(name);
        const std::string_view type = kind == Kind::Counter ? "counter" : "gauge";
        if (format_ == MetricsFormat::OpenMetrics) {
            out_ += fmt::format("# TYPE {} {}\n", name, type);
            if (!unit.empty()) out_ += fmt::format("# UNIT {} {}\n", name, unit);
            out_ += fmt::format("# HELP {} {}\n", name, help);
        } else {
            out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", sample_, help, sample_, type);
        }
    }

    void sample(std::string_view labels, std::string_view value) {
        out_ += fmt::format("{}{{{}}} {}\n", sample_, labels, value);
    }

    std::string finish() {
        if (format_ == MetricsFormat::OpenMetrics) out_ += "# EOF\n";
        return std::move(out_);
    }

  private:
    MetricsFormat format_;
    std::string sample_;
    std::string out_;
};

std::string projectLabels(const ProjectInfo& project) {
    return fmt::format("project=\"{}\"", labelValue(project.name));
}

std::string taskLabels(const ProjectInfo& project, const TaskStatistics& task) {
    return fmt::format("project=\"{}\",task=\"{}\"", labelValue(project.name),
                       labelValue(task.task));
}

void writeFigureMetrics(Writer& writer, const std::vector<ProjectInfo>& projects) {
    for (const auto& metric : kFigureMetrics) {
        for (const bool perTask : {false, true}) {
            std::vector<std::pair<std::string, std::string>> samples;
            for (const auto& project : projects) {
                if (!perTask) {
                    if (auto value = figureValue(project.stats, metric.figure); !value.empty())
                        samples.emplace_back(projectLabels(project), std::move(value));
                    continue;
                }
                for (const auto& task : project.taskStatistics) {
                    if (auto value = figureValue(task.stats, metric.figure); !value.empty())
                        samples.emplace_back(taskLabels(project, task), std::move(value));
                }
            }
            if (samples.empty()) continue;
            writer.family(fmt::format("etmem_{}_{}", perTask ? "task" : "project", metric.name),
                          metric.kind, metric.unit, metric.help);
            for (const auto& [labels, value] : samples) writer.sample(labels, value);
        }
    }
}

// The slide engine's dry run, refaults and idle ages of each task (observe_figures.hpp);
// a family is written only when some task reports its figures.
void writeObserveMetrics(Writer& writer, const std::vector<ProjectInfo>& projects) {
    struct Row {
        const ProjectInfo* project;
        const TaskStatistics* task;
        ObserveFigures figures;
    };
    std::vector<Row> rows;
    for (const auto& project : projects) {
        for (const auto& task : project.taskStatistics)
            rows.push_back({&project, &task, observeFigures(task.stats)});
    }
    using Field = std::optional<std::uint64_t> ObserveFigures::*;
    struct CountFamily {
        std::string_view name;
        Kind kind;
        std::string_view unit;
        std::string_view help;
        Field field;
    };
    static constexpr CountFamily kFamilies[] = {
        {"etmem_task_would_swap_pages", Kind::Counter, "",
         "Dry run (mode observe): pages the task would have swapped out since start; nothing "
         "was moved.",
         &ObserveFigures::totalWouldSwapPages},
        {"etmem_task_would_swap_bytes", Kind::Counter, "bytes",
         "Dry run (mode observe): bytes the task would have swapped out since start; nothing "
         "was moved.",
         &ObserveFigures::totalWouldSwapBytes},
        {"etmem_task_last_cycle_would_swap_bytes", Kind::Gauge, "bytes",
         "Dry run (mode observe): bytes the last cycle would have swapped out.",
         &ObserveFigures::wouldSwapBytes},
        {"etmem_task_refaults", Kind::Counter, "",
         "Pages etmem swapped out that came back resident since start (read from pagemap).",
         &ObserveFigures::totalRefaults},
    };
    for (const auto& family : kFamilies) {
        bool any = false;
        for (const auto& row : rows) any = any || (row.figures.*family.field).has_value();
        if (!any) continue;
        writer.family(family.name, family.kind, family.unit, family.help);
        for (const auto& row : rows) {
            if (const auto value = row.figures.*family.field)
                writer.sample(taskLabels(*row.project, *row.task), integer(*value));
        }
    }
    bool anyIdle = false;
    for (const auto& row : rows) anyIdle = anyIdle || !row.figures.idleBytes.empty();
    if (!anyIdle) return;
    writer.family("etmem_task_idle_bytes", Kind::Gauge, "bytes",
                  "Resident bytes cold for at least age_cycles consecutive cycles, as of the "
                  "last cycle (cumulative).");
    for (const auto& row : rows) {
        for (const auto& [age, bytes] : row.figures.idleBytes) {
            writer.sample(
                fmt::format("{},age_cycles=\"{}\"", taskLabels(*row.project, *row.task), age),
                integer(bytes));
        }
    }
}

bool reportsTiers(const std::vector<ProjectInfo>& projects) {
    for (const auto& project : projects)
        if (hasOther(project.stats, "pages_demoted")) return true;
    return false;
}

// The tier families, and the pages each task has on each node ("pages_nodeN").
void writeTierMetrics(Writer& writer, const std::vector<ProjectInfo>& projects) {
    if (!reportsTiers(projects)) return;
    for (const auto& metric : tierMetrics()) {
        writer.family(fmt::format("etmem_task_{}", metric.name), metric.kind, metric.unit,
                      metric.help);
        for (const auto& project : projects)
            for (const auto& task : project.taskStatistics)
                if (hasOther(task.stats, "pages_demoted"))
                    writer.sample(taskLabels(project, task), metric.value(task.stats));
    }
    writer.family("etmem_task_node_pages", Kind::Gauge, "",
                  "The task's resident candidate pages on each NUMA node in the last cycle.");
    constexpr std::string_view kPrefix = "pages_node";
    for (const auto& project : projects) {
        for (const auto& task : project.taskStatistics) {
            for (const auto& figure : task.stats.others) {
                const auto* count = std::get_if<std::uint64_t>(&figure.value);
                if (count == nullptr || figure.name.rfind(kPrefix, 0) != 0) continue;
                writer.sample(fmt::format("{},node=\"{}\"", taskLabels(project, task),
                                          labelValue(figure.name.substr(kPrefix.size()))),
                              integer(*count));
            }
        }
    }
}

}  // namespace

std::string renderMetrics(const std::vector<ProjectInfo>& projects, MetricsFormat format) {
    Writer writer(format);
    writer.family("etmem_project_running", Kind::Gauge, "",
                  "1 while the project runs, 0 when it is stopped or failed.");
    for (const auto& project : projects)
        writer.sample(projectLabels(project), project.state == "running" ? "1" : "0");

    for (const auto& metric : statMetrics()) {
        writer.family(fmt::format("etmem_project_{}", metric.name), metric.kind, metric.unit,
                      metric.help);
        for (const auto& project : projects)
            writer.sample(projectLabels(project), metric.value(project.stats));
    }
    for (const auto& metric : statMetrics()) {
        writer.family(fmt::format("etmem_task_{}", metric.name), metric.kind, metric.unit,
                      metric.help);
        for (const auto& project : projects) {
            for (const auto& task : project.taskStatistics)
                writer.sample(taskLabels(project, task), metric.value(task.stats));
        }
    }
    writeFigureMetrics(writer, projects);
    writeObserveMetrics(writer, projects);
    writeTierMetrics(writer, projects);
    return writer.finish();
}

bool parseMetricsFormat(std::string_view word, MetricsFormat& format) {
    if (word == "openmetrics") {
        format = MetricsFormat::OpenMetrics;
        return true;
    }
    if (word == "prometheus") {
        format = MetricsFormat::Prometheus;
        return true;
    }
    return false;
}

}  // namespace etmem::cli
