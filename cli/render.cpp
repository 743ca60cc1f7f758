#include "render.hpp"

#include "json_writer.hpp"
#include "text_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace etmem::cli {
namespace {

// A long pid list would drown the table; the JSON output carries all of them.
constexpr std::size_t kPidsShown = 8;

// Table cells are single-line: control characters would break the layout.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        unsigned char byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
    }
    return out;
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

bool hasStatistics(const ProjectInfo& project) {
    return project.pagesScanned != 0 || project.pagesHot != 0 || project.pagesCold != 0 ||
           project.pagesSwapped != 0 || project.bytesSwapped != 0 || project.lastCycleUSec != 0 ||
           project.totalPagesSwapped != 0 || project.totalBytesSwapped != 0;
}

std::string statisticsLine(const ProjectInfo& project) {
    return fmt::format(
        "last cycle: {} pages scanned, {} hot, {} cold, {} swapped out ({}) in {}; "
        "since start: {} pages ({}) swapped out",
        project.pagesScanned, project.pagesHot, project.pagesCold, project.pagesSwapped,
        humanBytes(project.bytesSwapped), humanDuration(project.lastCycleUSec),
        project.totalPagesSwapped, humanBytes(project.totalBytesSwapped));
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

std::vector<Line> tableLines(const std::vector<ProjectInfo>& projects) {
    std::vector<Line> lines;
    Line header;
    std::copy(kHeader.begin(), kHeader.end(), header.cells.begin());
    lines.push_back(header);
    for (const auto& project : projects) {
        Line first;
        first.cells[0] = printable(project.name);
        first.cells[1] = printable(project.state);
        first.cells[2] = fmt::format("{}", project.cycles);
        first.cells[7] = pidList(project.pids);
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
        if (hasStatistics(project)) lines.push_back({{}, "  " + statisticsLine(project), true});
        if (!project.lastError.empty())
            lines.push_back({{}, "  last error: " + printable(project.lastError), true});
    }
    return lines;
}

}  // namespace

std::string renderTable(const std::vector<ProjectInfo>& projects) {
    if (projects.empty()) return "No projects. Add one with 'etmem project add -n NAME -f FILE'.\n";
    std::vector<Line> lines = tableLines(projects);
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
        json.key("loop");
        json.number(project.loop);
        json.key("interval");
        json.number(project.interval);
        json.key("sleep");
        json.number(project.sleep);
        json.key("tasks");
        json.beginArray();
        for (const auto& task : project.tasks) {
            json.beginObject();
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
            json.endObject();
        }
        json.endArray();
        json.key("pids");
        json.beginArray();
        for (auto pid : project.pids) json.number(pid);
        json.endArray();
        const std::array<std::pair<std::string_view, std::uint64_t>, 9> counters = {{
            {"cycles", project.cycles},
            {"pages_scanned", project.pagesScanned},
            {"pages_hot", project.pagesHot},
            {"pages_cold", project.pagesCold},
            {"pages_swapped", project.pagesSwapped},
            {"bytes_swapped", project.bytesSwapped},
            {"last_cycle_usec", project.lastCycleUSec},
            {"total_pages_swapped", project.totalPagesSwapped},
            {"total_bytes_swapped", project.totalBytesSwapped},
        }};
        for (const auto& [key, value] : counters) {
            json.key(key);
            json.number(value);
        }
        json.key("last_error");
        json.string(project.lastError);
        json.endObject();
    }
    json.endArray();
    return json.text();
}

}  // namespace etmem::cli
