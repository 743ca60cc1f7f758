// SPDX-License-Identifier: MulanPSL-2.0
#include "metrics.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <functional>

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
