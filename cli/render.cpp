// SPDX-License-Identifier: MulanPSL-2.0
#include "render.hpp"

#include "json_writer.hpp"
#include "observe_figures.hpp"
#include "text_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>

namespace etmem::cli {
namespace {

// A long pid list would drown the table; the JSON output carries all of them.
constexpr std::size_t kPidsShown = 8;
// The project's chart is the one people read; each task's is a smaller copy beneath.
constexpr std::size_t kProjectBarWidth = 40;
constexpr std::size_t kTaskBarWidth = 20;

// Table cells are single-line: control characters would break the layout.
std::string printable(std::string_view text) {
    return printableCell(text);
}

std::string pidList(const std::vector<std::uint32_t>& pids) {
    if (pids.empty()) return "-";
    std::string out;
    for (std::size_t i = 0; i < pids.size() && i < kPidsShown; ++i) {
        if (i > 0) out += ',';
        out += fmt::format("{}", pids[i]);
    }
    if (pids.size() > kPidsShown) out += fmt::format(" (+{} more)", pids.size() - kPidsShown);
    return out;
}

// The threshold that splits the project's chart into cold and hot: only meaningful when
// every task uses the same T (the chart sums the tasks).
std::optional<std::uint32_t> commonThreshold(const std::vector<TaskInfo>& tasks) {
    if (tasks.empty()) return std::nullopt;
    for (const auto& task : tasks) {
        if (task.threshold != tasks.front().threshold) return std::nullopt;
    }
    return tasks.front().threshold;
}

std::string valueText(const OtherFigure& figure) {
    if (const auto* count = std::get_if<std::uint64_t>(&figure.value))
        return fmt::format("{}", *count);
    if (const auto* flag = std::get_if<bool>(&figure.value)) return *flag ? "yes" : "no";
    return printable(std::get<std::string>(figure.value));
}

// Figures of a newer daemon this CLI has no words for, as "name value, ...".
std::string othersText(const std::vector<OtherFigure>& others) {
    std::string text;
    for (const auto& figure : others) {
        if (isObserveFigure(figure.name)) continue;  // lines of their own
        text += fmt::format("{}{} {}", text.empty() ? "" : ", ", printable(figure.name),
                            valueText(figure));
    }
    return text;
}

// mode observe's dry run, refaults and the idle-age chart of one project or task.
void appendObserveFigures(std::vector<std::string>& notes, const ObserveFigures& figures,
                          const std::string& indent, const ChartStyle& chart) {
    auto labelled = [&](std::string_view label, const std::string& value) {
        notes.push_back(fmt::format("{}{:<15}{}", indent, label, value));
    };
    if (figures.wouldSwapPages) {
        labelled(
            "dry run:",
            fmt::format("mode observe, nothing moved; would have swapped out {} pages ({}) "
                        "in the last cycle, {} pages ({}) since start",
                        *figures.wouldSwapPages, humanBytes(figures.wouldSwapBytes.value_or(0)),
                        figures.totalWouldSwapPages.value_or(0),
                        humanBytes(figures.totalWouldSwapBytes.value_or(0))));
    }
    if (figures.refaults) {
        labelled("refaults:", fmt::format("{} swapped pages came back in the last cycle, {} since "
                                          "start",
                                          *figures.refaults, figures.totalRefaults.value_or(0)));
    }
    if (figures.idleBytes.empty()) return;
    notes.push_back(indent + "resident memory cold for at least n consecutive cycles (idle ages):");
    for (const auto& line : idleAgeChart(figures.idleBytes, chart))
        notes.push_back(indent + "  " + line);
}

struct StatisticsBlock {
    std::string indent;
    std::optional<std::uint32_t> hotFrom;
    ChartStyle chart;
};

// The labelled lines under a project or a task; values start in one column.
void appendStatistics(std::vector<std::string>& notes, const Statistics& stats,
                      const StatisticsBlock& block) {
    auto labelled = [&](std::string_view label, const std::string& value) {
        notes.push_back(fmt::format("{}{:<15}{}", block.indent, label, value));
    };
    if (stats.cycles == 0) {
        notes.push_back(block.indent + "no cycle finished yet");
    } else {
        labelled(
            "last cycle:",
            fmt::format("{} pages scanned, {} hot, {} cold; {} swapped out ({}) in {}",
                        stats.pagesScanned, stats.pagesHot, stats.pagesCold, stats.pagesSwapped,
                        humanBytes(stats.bytesSwapped), humanDuration(stats.lastCycleUSec)));
        labelled("since start:",
                 fmt::format("{} pages swapped out ({}) in {} {}", stats.totalPagesSwapped,
                             humanBytes(stats.totalBytesSwapped), stats.cycles,
                             stats.cycles == 1 ? "cycle" : "cycles"));
        if (!stats.scanner.empty() || !stats.swapper.empty())
            labelled("backends:",
                     fmt::format("scanner {}, swapper {}",
                                 stats.scanner.empty() ? "-" : printable(stats.scanner),
                                 stats.swapper.empty() ? "-" : printable(stats.swapper)));
    }
    const std::string others = othersText(stats.others);
    if (stats.cycles != 0 && !others.empty()) labelled("also:", others);
    if (stats.cycles != 0)
        appendObserveFigures(notes, observeFigures(stats), block.indent, block.chart);
    if (!stats.lastError.empty()) labelled("last error:", printable(stats.lastError));
    if (stats.cycles == 0) return;
    if (stats.histogram.empty()) {
        labelled("access counts:", "none reported for the last cycle");
        return;
    }
    notes.push_back(block.indent +
                    "pages per access count k in the last cycle (a read counts 1, a write 3):");
    for (const auto& line : histogramChart(stats.histogram, block.hotFrom, block.chart))
        notes.push_back(block.indent + "  " + line);
}

// One task's own block; with a single task it would only repeat the project's figures.
void appendTaskStatistics(std::vector<std::string>& notes, const ProjectInfo& project,
                          BarGlyphs glyphs) {
    if (project.taskStatistics.size() < 2) return;
    for (std::size_t t = 0; t < project.taskStatistics.size(); ++t) {
        const TaskStatistics& task = project.taskStatistics[t];
        notes.push_back(fmt::format("  task {} of {} ({}): targets {}", t + 1,
                                    project.taskStatistics.size(), printable(task.task),
                                    pidList(task.stats.pids)));
        std::optional<std::uint32_t> hotFrom;
        if (t < project.tasks.size()) hotFrom = project.tasks[t].threshold;
        appendStatistics(notes, task.stats, {"    ", hotFrom, {glyphs, kTaskBarWidth, 16}});
    }
}

// "8M/s" as the config writes sizes.
std::string rateText(std::uint64_t bytes) {
    std::string suffix;
    for (char s : std::string_view("KMG")) {
        if (bytes == 0 || bytes % 1024 != 0) break;
        bytes /= 1024;
        suffix = std::string(1, s);
    }
    return fmt::format("{}{}/s", bytes, suffix);
}

// Types unit and cgroup: what the unit resolved to, or why it has no process. Pacing: what
// held swap-out back.
void appendTargetsAndPacing(std::vector<std::string>& notes, const ProjectInfo& project) {
    for (const auto& target : project.taskTargets) {
        if (!target.note.empty())
            notes.push_back(
                fmt::format("  {}: {}", printable(target.task), printable(target.note)));
        else if (!target.cgroup.empty())
            notes.push_back(
                fmt::format("  {}: cgroup {}", printable(target.task), printable(target.cgroup)));
    }
    for (const auto& pacing : project.taskPacing) {
        std::string readings;
        if (pacing.rate != 0) readings += fmt::format("rate {}", rateText(pacing.rate));
        if (pacing.pressure >= 0)
            readings += fmt::format("{}memory pressure {:.1f}%", readings.empty() ? "" : ", ",
                                    pacing.pressure);
        std::string state = pacing.paused ? "paused" : pacing.paced ? "paced" : "not paced";
        notes.push_back(fmt::format("  {}: swap-out {}{}{}", printable(pacing.task), state,
                                    readings.empty() ? "" : " (" + readings + ")",
                                    pacing.reason.empty() ? "" : ": " + printable(pacing.reason)));
    }
}

constexpr std::array<std::string_view, 8> kHeader = {"PROJECT", "STATE",  "CYCLES", "TYPE",
                                                     "VALUE",   "ENGINE", "T",      "PIDS"};
using Row = std::array<std::string, kHeader.size()>;

// A row, or a free-text line under the rows (not aligned, indented).
struct Line {
    Row cells;
    std::string note;
    bool isNote = false;
};

std::vector<Line> tableLines(const std::vector<ProjectInfo>& projects, BarGlyphs glyphs) {
    std::vector<Line> lines;
    Line header;
    std::copy(kHeader.begin(), kHeader.end(), header.cells.begin());
    lines.push_back(header);
    for (const auto& project : projects) {
        Line first;
        first.cells[0] = printable(project.name);
        first.cells[1] = printable(project.state);
        first.cells[2] = fmt::format("{}", project.stats.cycles);
        first.cells[7] = pidList(project.stats.pids);
        for (std::size_t t = 0; t < project.tasks.size(); ++t) {
            Line line = t == 0 ? first : Line{};
            const TaskInfo& task = project.tasks[t];
            line.cells[3] = printable(task.type);
            line.cells[4] = printable(task.value);
            line.cells[5] = printable(task.engine);
            line.cells[6] = fmt::format("{}", task.threshold);
            lines.push_back(line);
        }
        if (project.tasks.empty()) {
            first.cells[3] = "-";
            lines.push_back(first);
        }
        std::vector<std::string> notes;
        // Said only for files: where to change the project is then not the API.
        if (project.source.starts_with("file:"))
            notes.push_back("  source: " + printable(project.source));
        appendStatistics(notes, project.stats,
                         {"  ", commonThreshold(project.tasks), {glyphs, kProjectBarWidth, 16}});
        if (!project.gates.empty()) {
            std::string joined;
            for (const auto& gate : project.gates) joined += (joined.empty() ? "" : ", ") + gate;
            notes.push_back("  gates: " + printable(joined));
        }
        appendTaskStatistics(notes, project, glyphs);
        appendTargetsAndPacing(notes, project);
        for (auto& note : notes) lines.push_back({{}, std::move(note), true});
    }
    return lines;
}

// The same keys for a project and for a task, so scripts read both the same way.
void writeStatistics(JsonWriter& json, const Statistics& stats) {
    json.key("pids");
    json.beginArray();
    for (auto pid : stats.pids) json.number(pid);
    json.endArray();
    const std::array<std::pair<std::string_view, std::uint64_t>, 9> counters = {{
        {"cycles", stats.cycles},
        {"pages_scanned", stats.pagesScanned},
        {"pages_hot", stats.pagesHot},
        {"pages_cold", stats.pagesCold},
        {"pages_swapped", stats.pagesSwapped},
        {"bytes_swapped", stats.bytesSwapped},
        {"last_cycle_usec", stats.lastCycleUSec},
        {"total_pages_swapped", stats.totalPagesSwapped},
        {"total_bytes_swapped", stats.totalBytesSwapped},
    }};
    for (const auto& [key, value] : counters) {
        json.key(key);
        json.number(value);
    }
    json.key("scanner");
    json.string(stats.scanner);
    json.key("swapper");
    json.string(stats.swapper);
    json.key("last_error");
    json.string(stats.lastError);
    json.key("histogram");
    json.beginArray();
    for (auto pages : stats.histogram) json.number(pages);
    json.endArray();
    // A newer daemon's figures under the names it gives them (its keys are these keys).
    for (const auto& figure : stats.others) {
        json.key(figure.name);
        if (const auto* count = std::get_if<std::uint64_t>(&figure.value))
            json.number(*count);
        else if (const auto* flag = std::get_if<bool>(&figure.value))
            json.boolean(*flag);
        else
            json.string(std::get<std::string>(figure.value));
    }
}

void writeTaskConfig(JsonWriter& json, const TaskInfo& task) {
    json.key("type");
    json.string(task.type);
    json.key("value");
    json.string(task.value);
    json.key("max_threads");
    json.number(task.maxThreads);
    json.key("engine");
    json.string(task.engine);
    json.key("T");
    json.number(task.threshold);
}

// Config and statistics are both in config order; a daemon that predates per-task
// statistics sends none, and then a task carries its config alone.
void writeTasks(JsonWriter& json, const ProjectInfo& project) {
    json.key("tasks");
    json.beginArray();
    std::size_t count = std::max(project.tasks.size(), project.taskStatistics.size());
    for (std::size_t t = 0; t < count; ++t) {
        json.beginObject();
        if (t < project.tasks.size()) writeTaskConfig(json, project.tasks[t]);
        if (t < project.taskStatistics.size()) {
            json.key("task");
            json.string(project.taskStatistics[t].task);
            writeStatistics(json, project.taskStatistics[t].stats);
        }
        json.endObject();
    }
    json.endArray();
}

// Only for projects that have them: a pid project's JSON stays as it was.
void writeTargetsAndPacing(JsonWriter& json, const ProjectInfo& project) {
    const bool anyTarget =
        std::any_of(project.taskTargets.begin(), project.taskTargets.end(),
                    [](const TaskTargetInfo& t) { return !t.cgroup.empty() || !t.note.empty(); });
    if (!anyTarget && project.taskPacing.empty()) return;
    json.key("targets");
    json.beginArray();
    for (const auto& target : project.taskTargets) {
        json.beginObject();
        json.key("task");
        json.string(target.task);
        json.key("cgroup");
        json.string(target.cgroup);
        json.key("note");
        json.string(target.note);
        json.endObject();
    }
    json.endArray();
    json.key("pacing");
    json.beginArray();
    for (const auto& pacing : project.taskPacing) {
        json.beginObject();
        json.key("task");
        json.string(pacing.task);
        json.key("paced");
        json.boolean(pacing.paced);
        json.key("paused");
        json.boolean(pacing.paused);
        json.key("reason");
        json.string(pacing.reason);
        json.key("rate");
        json.number(pacing.rate);
        // Tenths of a percent: the writer has whole numbers only.
        json.key("pressure_tenths");
        json.number(pacing.pressure < 0 ? 0 : static_cast<std::uint64_t>(pacing.pressure * 10));
        json.endObject();
    }
    json.endArray();
}

}  // namespace

std::string renderTable(const std::vector<ProjectInfo>& projects, BarGlyphs glyphs) {
    if (projects.empty()) return "No projects. Add one with 'etmem project add -n NAME -f FILE'.\n";
    std::vector<Line> lines = tableLines(projects, glyphs);
    std::array<std::size_t, kHeader.size()> widths{};
    for (const auto& line : lines) {
        if (line.isNote) continue;
        for (std::size_t c = 0; c < widths.size(); ++c)
            widths[c] = std::max(widths[c], displayWidth(line.cells[c]));
    }
    std::string out;
    for (const auto& line : lines) {
        if (line.isNote) {
            out += line.note + '\n';
            continue;
        }
        std::string text;
        for (std::size_t c = 0; c < widths.size(); ++c) {
            text += line.cells[c];
            if (c + 1 < widths.size())
                text.append(widths[c] - displayWidth(line.cells[c]) + 2, ' ');
        }
        text.erase(text.find_last_not_of(' ') + 1);
        out += text + '\n';
    }
    return out;
}

std::string renderJson(const std::vector<ProjectInfo>& projects) {
    JsonWriter json;
    json.beginArray();
    for (const auto& project : projects) {
        json.beginObject();
        json.key("name");
        json.string(project.name);
        json.key("state");
        json.string(project.state);
        json.key("source");
        json.string(project.source);
        json.key("loop");
        json.number(project.loop);
        json.key("interval");
        json.number(project.interval);
        json.key("sleep");
        json.number(project.sleep);
        writeTasks(json, project);
        writeStatistics(json, project.stats);
        writeTargetsAndPacing(json, project);
        json.endObject();
    }
    json.endArray();
    return json.text();
}

std::vector<std::string> gatesOfConfig(std::string_view yaml) {
    static constexpr std::string_view kProjectGates[] = {"sysmem_threshold", "swapcache_high_wmark",
                                                         "swapcache_low_wmark"};
    static constexpr std::string_view kTaskGates[] = {"swap_threshold", "dram_percent",
                                                      "swap_flag"};
    std::vector<std::string> gates;
    unsigned task = 0;
    while (!yaml.empty()) {
        const std::size_t end = std::min(yaml.find('\n'), yaml.size());
        const std::string_view line = yaml.substr(0, end);
        yaml.remove_prefix(std::min(end + 1, yaml.size()));
        if (line.starts_with("    - ")) ++task;
        const std::size_t key = line.find_first_not_of(" -");
        const std::size_t colon = line.find(": ");
        if (key == std::string_view::npos || colon == std::string_view::npos) continue;
        const std::string_view name = line.substr(key, colon - key);
        const std::string_view value = line.substr(colon + 2);
        const auto in = [&](const auto& keys) {
            return std::find(std::begin(keys), std::end(keys), name) != std::end(keys);
        };
        if (in(kProjectGates)) gates.push_back(fmt::format("{} {}", name, value));
        // swap_flag is always written; only "yes" is worth showing.
        if (in(kTaskGates) && !(name == "swap_flag" && value == "no"))
            gates.push_back(fmt::format("task {}: {} {}", task, name, value));
    }
    return gates;
}

}  // namespace etmem::cli
