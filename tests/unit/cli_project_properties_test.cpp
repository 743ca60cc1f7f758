// SPDX-License-Identifier: MulanPSL-2.0
// Reading Project properties straight out of a D-Bus message (GetAll's a{sv},
// GetManagedObjects' a{oa{sa{sv}}}): what is read, what is skipped, and in which order the
// projects come out.
#include "project_properties.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sdbus {
// Exported by libsdbus-c++ 1.2 but declared only in its own sources: a message on a pseudo
// connection, no bus needed (what sdbus::Variant itself is built on).
PlainMessage createPlainMessage();
}  // namespace sdbus

namespace etmem::cli {
namespace {

using Properties = std::map<std::string, sdbus::Variant>;
using TaskStruct =
    sdbus::Struct<std::string, std::string, std::uint32_t, std::string, std::uint32_t>;

// A sealed message holding `value`, its read position at the start.
template <typename T>
sdbus::PlainMessage messageHolding(const T& value) {
    auto message = sdbus::createPlainMessage();
    message << value;
    message.seal();
    message.rewind(true);
    return message;
}

Properties webProperties() {
    return {
        {"Name", sdbus::Variant(std::string("web"))},
        {"State", sdbus::Variant(std::string("running"))},
        {"Loop", sdbus::Variant(std::uint32_t{3})},
        {"Sleep", sdbus::Variant(std::uint32_t{7})},
        {"Cycles", sdbus::Variant(std::uint64_t{42})},
        {"Pids", sdbus::Variant(std::vector<std::uint32_t>{10, 20})},
        {"Tasks", sdbus::Variant(std::vector<TaskStruct>{
                      TaskStruct{"pid", "10", std::uint32_t{1}, "slide", std::uint32_t{2}}})},
        {"Config", sdbus::Variant(std::string("options:\n  sysmem_threshold: 50\n  loop: 3\n"))},
    };
}

TEST(CliProjectProperties, ReadsEachKnownProperty) {
    auto message = messageHolding(webProperties());
    ProjectInfo info;
    readProjectProperties(message, info);
    EXPECT_EQ(info.name, "web");
    EXPECT_EQ(info.state, "running");
    EXPECT_EQ(info.loop, 3u);
    EXPECT_EQ(info.sleep, 7u);
    EXPECT_EQ(info.stats.cycles, 42u);
    EXPECT_EQ(info.stats.pids, (std::vector<std::uint32_t>{10, 20}));
    ASSERT_EQ(info.tasks.size(), 1u);
    EXPECT_EQ(info.tasks[0].type, "pid");
    EXPECT_EQ(info.tasks[0].value, "10");
    EXPECT_EQ(info.tasks[0].maxThreads, 1u);
    EXPECT_EQ(info.tasks[0].engine, "slide");
    EXPECT_EQ(info.tasks[0].threshold, 2u);
    EXPECT_EQ(info.gates, (std::vector<std::string>{"sysmem_threshold 50"}));
}

// An older or newer daemon: an unknown property and one of another type are passed over,
// and what follows them in the dict is still read.
TEST(CliProjectProperties, SkipsUnknownAndMistypedProperties) {
    Properties properties = webProperties();
    properties.emplace("Interval", sdbus::Variant(std::string("not a number")));
    properties.emplace("Future", sdbus::Variant(std::vector<std::string>{"a", "b"}));
    properties.emplace("Histogram", sdbus::Variant(std::vector<std::uint64_t>{5, 6, 7}));
    auto message = messageHolding(properties);
    ProjectInfo info;
    info.name = "from ListProjects";
    readProjectProperties(message, info);
    EXPECT_EQ(info.interval, 0u);
    EXPECT_EQ(info.name, "web");
    EXPECT_EQ(info.stats.histogram, (std::vector<std::uint64_t>{5, 6, 7}));
    EXPECT_EQ(info.sleep, 7u);
}

TEST(CliProjectProperties, AbsentPropertiesLeaveTheFieldAlone) {
    auto message = messageHolding(Properties{{"Loop", sdbus::Variant(std::uint32_t{9})}});
    ProjectInfo info;
    info.name = "from ListProjects";
    info.state = "stopped";
    readProjectProperties(message, info);
    EXPECT_EQ(info.name, "from ListProjects");
    EXPECT_EQ(info.state, "stopped");
    EXPECT_EQ(info.loop, 9u);
}

// Objects without the Project interface (the manager) are skipped; projects come sorted by
// name, not in the reply's object-path order.
TEST(CliProjectProperties, ManagedObjectsGiveEveryProjectByName) {
    const std::string project = "org.openeuler.Etmem.Project";
    auto named = [](const std::string& name) { return Properties{{"Name", sdbus::Variant(name)}}; };
    std::map<sdbus::ObjectPath, std::map<std::string, Properties>> objects{
        {sdbus::ObjectPath("/org/openeuler/Etmem"),
         {{"org.openeuler.Etmem.Manager", named("manager")},
          {"org.freedesktop.DBus.Peer", Properties{}}}},
        {sdbus::ObjectPath("/org/openeuler/Etmem/project/a"),
         {{"org.freedesktop.DBus.Properties", Properties{}}, {project, named("zeta")}}},
        {sdbus::ObjectPath("/org/openeuler/Etmem/project/b"), {{project, named("alpha")}}},
    };
    auto message = messageHolding(objects);
    auto projects = readManagedProjects(message, project);
    ASSERT_EQ(projects.size(), 2u);
    EXPECT_EQ(projects[0].name, "alpha");
    EXPECT_EQ(projects[1].name, "zeta");
}

TEST(CliProjectProperties, NoObjectsNoProjects) {
    auto message = messageHolding(std::map<sdbus::ObjectPath, std::map<std::string, Properties>>{});
    EXPECT_TRUE(readManagedProjects(message, "org.openeuler.Etmem.Project").empty());
}

using Dictionary = std::map<std::string, sdbus::Variant>;
using Pair = sdbus::Struct<std::string, std::string>;

// Report and TaskReports: known keys land in their fields, a key this CLI does not know
// (a newer mover's) is kept as it came, a key of a type it cannot show is passed over.
TEST(CliProjectProperties, ReadsReportsByName) {
    Properties properties = webProperties();
    properties.emplace("Report", sdbus::Variant(Dictionary{
                                     {"cycles", sdbus::Variant(std::uint64_t{42})},
                                     {"pages_scanned", sdbus::Variant(std::uint64_t{900})},
                                     {"total_bytes_swapped", sdbus::Variant(std::uint64_t{8192})},
                                     {"scanner", sdbus::Variant(std::string("damon"))},
                                     {"pages_migrated", sdbus::Variant(std::uint64_t{12})},
                                     {"odd_shape", sdbus::Variant(std::vector<std::string>{"x"})},
                                 }));
    properties.emplace("TaskReports", sdbus::Variant(std::vector<Dictionary>{
                                          {{"task", sdbus::Variant(std::string("pid:10"))},
                                           {"pids", sdbus::Variant(std::vector<std::uint32_t>{10})},
                                           {"pages_hot", sdbus::Variant(std::uint64_t{5})},
                                           {"cgroup", sdbus::Variant(std::string(""))},
                                           {"node", sdbus::Variant(std::string("1"))},
                                           {"pressure", sdbus::Variant(2.5)}},
                                          {{"task", sdbus::Variant(std::string("name:db"))}},
                                      }));
    auto message = messageHolding(properties);
    ProjectInfo info;
    readProjectProperties(message, info);
    EXPECT_EQ(info.stats.cycles, 42u);
    EXPECT_EQ(info.stats.pagesScanned, 900u);
    EXPECT_EQ(info.stats.totalBytesSwapped, 8192u);
    EXPECT_EQ(info.stats.scanner, "damon");
    EXPECT_EQ(info.stats.others, (std::vector<OtherFigure>{{"pages_migrated", std::uint64_t{12}}}));
    EXPECT_EQ(info.name, "web");  // what follows the dictionaries is still read
    ASSERT_EQ(info.taskStatistics.size(), 2u);
    EXPECT_EQ(info.taskStatistics[0].task, "pid:10");
    EXPECT_EQ(info.taskStatistics[0].stats.pids, (std::vector<std::uint32_t>{10}));
    EXPECT_EQ(info.taskStatistics[0].stats.pagesHot, 5u);
    EXPECT_EQ(
        info.taskStatistics[0].stats.others,
        (std::vector<OtherFigure>{{"node", std::string("1")}, {"pressure", std::string("2.5")}}));
    EXPECT_EQ(info.taskStatistics[1].task, "name:db");
}

// Gates as the daemon reports them win over what the config text says; without them (an
// older daemon) the config is read as before.
TEST(CliProjectProperties, GatesFromTheDaemon) {
    Properties properties = webProperties();
    properties.emplace("Gates", sdbus::Variant(std::vector<Pair>{{"sysmem_threshold", "60"}}));
    using TaskGates = sdbus::Struct<std::string, std::vector<Pair>>;
    properties.emplace("TaskGates", sdbus::Variant(std::vector<TaskGates>{
                                        {"pid:10", {{"swap_threshold", "1g"}, {"swap_flag", "no"}}},
                                        {"pid:11", {{"swap_flag", "yes"}}}}));
    auto message = messageHolding(properties);
    ProjectInfo info;
    readProjectProperties(message, info);
    EXPECT_EQ(info.gates,
              (std::vector<std::string>{"sysmem_threshold 60", "task 1: swap_threshold 1g",
                                        "task 2: swap_flag yes"}));
}

}  // namespace
}  // namespace etmem::cli
