#include "project_properties.hpp"

#include "raw_message.hpp"
#include "render.hpp"

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

// The properties as they come off the bus; finish() turns the structs into ProjectInfo's.
struct Fields {
    ProjectInfo& info;
    std::vector<TaskStruct> tasks;
    std::string config;
    std::vector<TaskStatisticsStruct> taskStatistics;
    std::vector<TaskTargetStruct> taskTargets;
    std::vector<TaskPacingStruct> taskPacing;
};

// The one list of the properties `project show` reads, each with where it goes; its type
// (the field's) is what the property must carry.
template <typename Visit>
void visitFields(Fields& fields, Visit&& visit) {
    ProjectInfo& info = fields.info;
    Statistics& stats = info.stats;
    visit("Name", info.name);
    visit("State", info.state);
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
}

// Past the next complete value of `type`, unread; sdbus-c++ 1.2 has no skip.
void skip(sdbus::Message& message, const char* type) {
    const int result = sd_bus_message_skip(RawMessageAccess::raw(message), type);
    if (result < 0)
        throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                           std::string("malformed reply: cannot skip a value of type ") + type);
}

// One dict entry's "sv": the value goes to its field when the name and type match.
void readProperty(sdbus::Message& message, Fields& fields) {
    std::string name;
    message >> name;
    std::string type;
    std::string contents;
    message.peekType(type, contents);
    bool taken = false;
    visitFields(fields, [&](std::string_view key, auto& field) {
        using Field = std::remove_reference_t<decltype(field)>;
        if (taken || key != name || contents != sdbus::signature_of<Field>::str()) return;
        taken = true;
        message.enterVariant(contents);
        message >> field;
        message.exitVariant();
    });
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

void finish(Fields& fields) {
    ProjectInfo& info = fields.info;
    for (auto& task : fields.tasks)
        info.tasks.push_back({std::move(std::get<0>(task)), std::move(std::get<1>(task)),
                              std::get<2>(task), std::move(std::get<3>(task)), std::get<4>(task)});
    info.gates = gatesOfConfig(fields.config);
    for (auto& row : fields.taskStatistics) info.taskStatistics.push_back(toTaskStatistics(row));
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
    Fields fields{info, {}, {}, {}, {}, {}};
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
