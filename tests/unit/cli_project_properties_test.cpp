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

}  // namespace
}  // namespace etmem::cli
