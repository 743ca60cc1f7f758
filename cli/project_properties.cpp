// SPDX-License-Identifier: MulanPSL-2.0
#include "project_properties.hpp"

#include "raw_message.hpp"
#include "render.hpp"

#include <fmt/format.h>
#include <sdbus-c++/Types.h>

#include <algorithm>
#include <string>
#include <type_traits>

namespace etmem::cli {
namespace {

using TaskStruct =
    sdbus::Struct<std::string, std::string, std::uint32_t, std::string, std::uint32_t>;
// TaskStatistics' a(sautttttttttsssat): task, pids, cycles, the last cycle's pages scanned /
// hot / cold / swapped, bytes swapped, duration (us), total pages and bytes swapped, scanner,
// swapper, last error, histogram.
using TaskStatisticsStruct =
    sdbus::Struct<std::string, std::vector<std::uint32_t>, std::uint64_t, std::uint64_t,
                  std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                  std::uint64_t, std::uint64_t, std::string, std::string, std::string,
                  std::vector<std::uint64_t>>;
using TaskTargetStruct = sdbus::Struct<std::string, std::string, std::string>;
using TaskPacingStruct = sdbus::Struct<std::string, bool, bool, std::string, std::uint64_t, double>;
using GateStruct = sdbus::Struct<std::string, std::string>;
using TaskGatesStruct = sdbus::Struct<std::string, std::vector<GateStruct>>;

// The properties as they come off the bus; finish() turns the structs into ProjectInfo's.
struct Fields {
    explicit Fields(ProjectInfo& into) : info(into) {}

    ProjectInfo& info;
    std::vector<TaskStruct> tasks;
    std::string config;
    std::vector<TaskStatisticsStruct> taskStatistics;
    std::vector<TaskTargetStruct> taskTargets;
    std::vector<TaskPacingStruct> taskPacing;
    std::vector<GateStruct> gates;
    std::vector<TaskGatesStruct> taskGates;
    // What a daemon older than these properties does not send; the older ones stand in.
    bool gatesReported = false;
    bool taskReportsReported = false;
    std::vector<TaskStatistics> taskReports;
};

// The one list of the properties `project show` reads, each with where it goes; its type
// (the field's) is what the property must carry.
template <typename Visit>
void visitFields(Fields& fields, Visit&& visit) {
    ProjectInfo& info = fields.info;
    Statistics& stats = info.stats;
    visit("Name", info.name);
    visit("State", info.state);
    visit("Source", info.source);
    visit("Loop", info.loop);
    visit("Interval", info.interval);
    visit("Sleep", info.sleep);
    visit("Tasks", fields.tasks);
    visit("Config", fields.config);
    visit("Pids", stats.pids);
    visit("Cycles", stats.cycles);
    visit("PagesScanned", stats.pagesScanned);
    visit("PagesHot", stats.pagesHot);
    visit("PagesCold", stats.pagesCold);
    visit("PagesSwapped", stats.pagesSwapped);
    visit("BytesSwapped", stats.bytesSwapped);
    visit("LastCycleUSec", stats.lastCycleUSec);
    visit("TotalPagesSwapped", stats.totalPagesSwapped);
    visit("TotalBytesSwapped", stats.totalBytesSwapped);
    visit("Scanner", stats.scanner);
    visit("Swapper", stats.swapper);
    visit("LastError", stats.lastError);
    visit("Histogram", stats.histogram);
    visit("TaskStatistics", fields.taskStatistics);
    visit("TaskTargets", fields.taskTargets);
    visit("TaskPacing", fields.taskPacing);
    visit("Gates", fields.gates);
    visit("TaskGates", fields.taskGates);
}

// The keys of Report and TaskReports this CLI shows in their places, each with its field;
// every other key of a readable type becomes an OtherFigure.
template <typename Visit>
void visitReportKeys(Statistics& stats, Visit&& visit) {
    visit("cycles", stats.cycles);
    visit("pids", stats.pids);
    visit("last_cycle_usec", stats.lastCycleUSec);
    visit("scanner", stats.scanner);
    visit("swapper", stats.swapper);
    visit("last_error", stats.lastError);
    visit("histogram", stats.histogram);
    visit("pages_scanned", stats.pagesScanned);
    visit("pages_hot", stats.pagesHot);
    visit("pages_cold", stats.pagesCold);
    visit("pages_swapped", stats.pagesSwapped);
    visit("bytes_swapped", stats.bytesSwapped);
    visit("total_pages_swapped", stats.totalPagesSwapped);
    visit("total_bytes_swapped", stats.totalBytesSwapped);
}

// TaskReports' keys that other properties already bring (TaskTargets).
bool shownElsewhere(std::string_view key) {
    return key == "cgroup" || key == "target_note";
}

// Past the next complete value of `type`, unread; sdbus-c++ 1.2 has no skip.
void skip(sdbus::Message& message, const char* type) {
    const int result = sd_bus_message_skip(RawMessageAccess::raw(message), type);
    if (result < 0)
        throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                           std::string("malformed reply: cannot skip a value of type ") + type);
}

// The variant's value into `field` when its type is the field's; false (nothing read)
// otherwise.
template <typename Field>
bool readVariant(sdbus::Message& message, const std::string& contents, Field& field) {
    if (contents != sdbus::signature_of<Field>::str()) return false;
    message.enterVariant(contents);
    message >> field;
    message.exitVariant();
    return true;
}

// A value with no field of its own, kept when it is a number, text or a flag.
bool readOther(sdbus::Message& message, const std::string& contents, std::string name,
               std::vector<OtherFigure>& others) {
    OtherFigure other{std::move(name), std::uint64_t{0}};
    std::uint64_t count = 0;
    std::uint32_t small = 0;
    double real = 0;
    std::string text;
    bool flag = false;
    if (readVariant(message, contents, count))
        other.value = count;
    else if (readVariant(message, contents, small))
        other.value = std::uint64_t{small};
    else if (readVariant(message, contents, real))
        other.value = fmt::format("{}", real);
    else if (readVariant(message, contents, text))
        other.value = std::move(text);
    else if (readVariant(message, contents, flag))
        other.value = flag;
    else
        return false;
    others.push_back(std::move(other));
    return true;
}

// One a{sv} of Report or TaskReports into `stats` (and its "task" key into `task`).
void readReport(sdbus::Message& message, Statistics& stats, std::string& task) {
    while (message.enterDictEntry("sv")) {
        std::string key;
        message >> key;
        std::string type;
        std::string contents;
        message.peekType(type, contents);
        bool known = false;
        bool taken = false;
        visitReportKeys(stats, [&](std::string_view name, auto& field) {
            if (known || name != key) return;
            known = true;
            taken = readVariant(message, contents, field);
        });
        if (!known && key == "task") {
            known = true;
            taken = readVariant(message, contents, task);
        }
        if (!known && !shownElsewhere(key)) taken = readOther(message, contents, key, stats.others);
        if (!taken) skip(message, "v");
        message.exitDictEntry();
    }
    message.clearFlags();
}

// Report's a{sv} into the project's statistics.
void readProjectReport(sdbus::Message& message, Statistics& stats) {
    message.enterVariant("a{sv}");
    message.enterContainer("{sv}");
    std::string unused;
    stats.others.clear();
    readReport(message, stats, unused);
    message.exitContainer();
    message.exitVariant();
}

// TaskReports' aa{sv}, one TaskStatistics per dictionary.
std::vector<TaskStatistics> readTaskReports(sdbus::Message& message) {
    std::vector<TaskStatistics> tasks;
    message.enterVariant("aa{sv}");
    message.enterContainer("a{sv}");
    while (message.enterContainer("{sv}")) {
        TaskStatistics& task = tasks.emplace_back();
        readReport(message, task.stats, task.task);
        message.exitContainer();
    }
    message.clearFlags();
    message.exitContainer();
    message.exitVariant();
    return tasks;
}

// One dict entry's "sv": the value goes to its field when the name and type match.
void readProperty(sdbus::Message& message, Fields& fields) {
    std::string name;
    message >> name;
    std::string type;
    std::string contents;
    message.peekType(type, contents);
    if (name == "Report" && contents == "a{sv}") {
        readProjectReport(message, fields.info.stats);
        return;
    }
    if (name == "TaskReports" && contents == "aa{sv}") {
        fields.taskReports = readTaskReports(message);
        fields.taskReportsReported = true;
        return;
    }
    bool taken = false;
    visitFields(fields, [&](std::string_view key, auto& field) {
        using Field = std::remove_reference_t<decltype(field)>;
        if (taken || key != name || contents != sdbus::signature_of<Field>::str()) return;
        taken = true;
        message.enterVariant(contents);
        message >> field;
        message.exitVariant();
    });
    if (taken && (name == "Gates" || name == "TaskGates")) fields.gatesReported = true;
    if (!taken) skip(message, "v");
}

TaskStatistics toTaskStatistics(TaskStatisticsStruct& row) {
    TaskStatistics task;
    task.task = std::move(std::get<0>(row));
    Statistics& stats = task.stats;
    stats.pids = std::move(std::get<1>(row));
    stats.cycles = std::get<2>(row);
    stats.pagesScanned = std::get<3>(row);
    stats.pagesHot = std::get<4>(row);
    stats.pagesCold = std::get<5>(row);
    stats.pagesSwapped = std::get<6>(row);
    stats.bytesSwapped = std::get<7>(row);
    stats.lastCycleUSec = std::get<8>(row);
    stats.totalPagesSwapped = std::get<9>(row);
    stats.totalBytesSwapped = std::get<10>(row);
    stats.scanner = std::move(std::get<11>(row));
    stats.swapper = std::move(std::get<12>(row));
    stats.lastError = std::move(std::get<13>(row));
    stats.histogram = std::move(std::get<14>(row));
    return task;
}

// Gates and TaskGates as `project show` lists them: "key value", a task's as "task N: key
// value"; swap_flag only when it is yes (it is always reported).
std::vector<std::string> gatesOfReport(const Fields& fields) {
    std::vector<std::string> gates;
    for (const auto& gate : fields.gates)
        gates.push_back(fmt::format("{} {}", std::get<0>(gate), std::get<1>(gate)));
    for (std::size_t t = 0; t < fields.taskGates.size(); ++t) {
        for (const auto& gate : std::get<1>(fields.taskGates[t])) {
            const std::string& key = std::get<0>(gate);
            const std::string& value = std::get<1>(gate);
            if (key == "swap_flag" && value == "no") continue;
            gates.push_back(fmt::format("task {}: {} {}", t + 1, key, value));
        }
    }
    return gates;
}

void finish(Fields& fields) {
    ProjectInfo& info = fields.info;
    for (auto& task : fields.tasks)
        info.tasks.push_back({std::move(std::get<0>(task)), std::move(std::get<1>(task)),
                              std::get<2>(task), std::move(std::get<3>(task)), std::get<4>(task)});
    info.gates = fields.gatesReported ? gatesOfReport(fields) : gatesOfConfig(fields.config);
    if (fields.taskReportsReported)
        info.taskStatistics = std::move(fields.taskReports);
    else
        for (auto& row : fields.taskStatistics)
            info.taskStatistics.push_back(toTaskStatistics(row));
    for (auto& row : fields.taskTargets)
        info.taskTargets.push_back({std::move(std::get<0>(row)), std::move(std::get<1>(row)),
                                    std::move(std::get<2>(row))});
    for (auto& row : fields.taskPacing)
        info.taskPacing.push_back({std::move(std::get<0>(row)), std::get<1>(row), std::get<2>(row),
                                   std::move(std::get<3>(row)), std::get<4>(row),
                                   std::get<5>(row)});
}

}  // namespace

void readProjectProperties(sdbus::Message& message, ProjectInfo& info) {
    Fields fields{info};
    if (message.enterContainer("{sv}")) {
        while (message.enterDictEntry("sv")) {
            readProperty(message, fields);
            message.exitDictEntry();
        }
        message.clearFlags();
        message.exitContainer();
    }
    finish(fields);
}

std::vector<ProjectInfo> readManagedProjects(sdbus::Message& message,
                                             std::string_view projectInterface) {
    std::vector<ProjectInfo> projects;
    if (!message.enterContainer("{oa{sa{sv}}}")) return projects;
    while (message.enterDictEntry("oa{sa{sv}}")) {
        sdbus::ObjectPath path;
        message >> path;
        message.enterContainer("{sa{sv}}");
        while (message.enterDictEntry("sa{sv}")) {
            std::string interface;
            message >> interface;
            if (interface == projectInterface)
                readProjectProperties(message, projects.emplace_back());
            else
                skip(message, "a{sv}");
            message.exitDictEntry();
        }
        message.clearFlags();
        message.exitContainer();
        message.exitDictEntry();
    }
    message.clearFlags();
    message.exitContainer();
    std::sort(projects.begin(), projects.end(),
              [](const ProjectInfo& a, const ProjectInfo& b) { return a.name < b.name; });
    return projects;
}

}  // namespace etmem::cli
