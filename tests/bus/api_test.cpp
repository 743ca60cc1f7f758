// SPDX-License-Identifier: MulanPSL-2.0
// The D-Bus API itself, driven with busctl and sdbus-c++: results, named errors, properties,
// introspection, ObjectManager and PropertiesChanged.
#include <atomic>
#include <mutex>

#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;

std::string errorName(const char* suffix) {
    return std::string(etmem::bus::kErrorPrefix) + suffix;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class Api : public BusTest {};

TEST_F(Api, BusctlAddListGet) {
    auto added = busctl({"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager",
                         "AddProject", "ss", "viabusctl", validConfig()});
    ASSERT_TRUE(added.status.success()) << added.err;
    EXPECT_EQ(added.out, "o \"" + etmem::bus::projectObjectPath("viabusctl") + "\"\n");

    auto listed = busctl(
        {"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager", "ListProjects"});
    ASSERT_TRUE(listed.status.success()) << listed.err;
    EXPECT_EQ(listed.out, "a(sso) 1 \"viabusctl\" \"stopped\" \"" +
                              etmem::bus::projectObjectPath("viabusctl") + "\"\n");

    auto state =
        busctl({"get-property", defaultBusName(), etmem::bus::projectObjectPath("viabusctl"),
                "org.openeuler.Etmem.Project", "State"});
    EXPECT_EQ(state.out, "s \"stopped\"\n") << state.err;
    auto name =
        busctl({"get-property", defaultBusName(), etmem::bus::projectObjectPath("viabusctl"),
                "org.openeuler.Etmem.Project", "Name"});
    EXPECT_EQ(name.out, "s \"viabusctl\"\n") << name.err;
    auto projects = busctl({"get-property", defaultBusName(), managerPath(),
                            "org.openeuler.Etmem.Manager", "Projects"});
    EXPECT_EQ(projects.out, "ao 1 \"" + etmem::bus::projectObjectPath("viabusctl") + "\"\n")
        << projects.err;

    auto removed = busctl({"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager",
                           "RemoveProject", "s", "viabusctl"});
    EXPECT_TRUE(removed.status.success()) << removed.err;
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Api, BusctlErrorsFail) {
    auto missing = busctl({"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager",
                           "StartProject", "s", "ghost"});
    EXPECT_NE(missing.status.code, 0);
    EXPECT_TRUE(contains(missing.err, "ghost")) << missing.err;
}

TEST_F(Api, ManagerPropertiesReadable) {
    auto version = busctl({"get-property", defaultBusName(), managerPath(),
                           "org.openeuler.Etmem.Manager", "Version"});
    EXPECT_TRUE(version.status.success()) << version.err;
    EXPECT_TRUE(version.out.starts_with("s \"")) << version.out;
    auto all =
        busctl({"introspect", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager"});
    ASSERT_TRUE(all.status.success()) << all.err;
    for (const char* member :
         {"AddProject", "RemoveProject", "StartProject", "StopProject", "ListProjects", "Version",
          "Instance", "Projects", "Scanner", "Swapper", "Missing", "LogLevel"})
        EXPECT_TRUE(contains(all.out, member)) << member << "\n" << all.out;
    std::string instance = manager()
                               ->getProperty("Instance")
                               .onInterface(etmem::bus::kManagerInterface.data())
                               .get<std::string>();
    EXPECT_EQ(instance, "");
}

TEST_F(Api, IntrospectionMatchesTheXml) {
    addProject("intro", validConfig());
    auto root = busctl({"introspect", "--xml-interface", defaultBusName(), "/"});
    ASSERT_TRUE(root.status.success()) << root.err;
    EXPECT_TRUE(contains(root.out, "org.freedesktop.DBus.ObjectManager")) << root.out;

    auto projectXml = busctl({"introspect", "--xml-interface", defaultBusName(),
                              etmem::bus::projectObjectPath("intro")});
    ASSERT_TRUE(projectXml.status.success()) << projectXml.err;
    for (const char* member :
         {"org.openeuler.Etmem.Project", "\"Start\"", "\"Stop\"", "\"State\"", "\"Cycles\"",
          "\"Tasks\"", "\"Pids\"", "\"LastError\"", "\"Config\""})
        EXPECT_TRUE(contains(projectXml.out, member)) << member;

    auto tree = busctl({"tree", "--list", defaultBusName()});
    ASSERT_TRUE(tree.status.success()) << tree.err;
    EXPECT_TRUE(contains(tree.out, etmem::bus::projectObjectPath("intro"))) << tree.out;
}

TEST_F(Api, ObjectManagerListsProjects) {
    addProject("one", validConfig());
    addProject("two words", validConfig());
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>
        objects;
    sdbus::createProxy(*connection_, defaultBusName(), "/")
        ->callMethod("GetManagedObjects")
        .onInterface("org.freedesktop.DBus.ObjectManager")
        .storeResultsTo(objects);
    for (const char* name : {"one", "two words"}) {
        auto it = objects.find(sdbus::ObjectPath(etmem::bus::projectObjectPath(name)));
        ASSERT_NE(it, objects.end()) << name;
        auto interface = it->second.find(std::string(etmem::bus::kProjectInterface));
        ASSERT_NE(interface, it->second.end());
        EXPECT_EQ(interface->second.at("Name").get<std::string>(), name);
        EXPECT_EQ(interface->second.at("State").get<std::string>(), "stopped");
    }
    auto busctlView = busctl(
        {"call", defaultBusName(), "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"});
    EXPECT_TRUE(busctlView.status.success()) << busctlView.err;
    EXPECT_TRUE(contains(busctlView.out, "two words")) << busctlView.out;
}

TEST_F(Api, NamedErrors) {
    addProject("p", validConfig(1200));
    EXPECT_EQ(outcomeOf([&] { addProject("p", validConfig()); }).name, errorName("ProjectExists"));
    for (const char* method : {"RemoveProject", "StartProject", "StopProject"}) {
        auto outcome = outcomeOf([&] { callManager(method, "ghost"); });
        EXPECT_EQ(outcome.name, errorName("NoSuchProject")) << method;
        EXPECT_TRUE(contains(outcome.message, "ghost")) << outcome.message;
    }
    EXPECT_EQ(outcomeOf([&] { callManager("StopProject", "p"); }).name, errorName("NotRunning"));
    callManager("StartProject", "p");
    EXPECT_EQ(outcomeOf([&] { callManager("StartProject", "p"); }).name,
              errorName("AlreadyRunning"));
    auto zeroLoop = validConfig();
    zeroLoop.replace(zeroLoop.find("loop: 1"), 7, "loop: 0");
    auto invalid = outcomeOf([&] { addProject("q", zeroLoop); });
    EXPECT_EQ(invalid.name, errorName("InvalidConfig"));
    EXPECT_TRUE(contains(invalid.message, "line 2, column")) << invalid.message;
    EXPECT_EQ(outcomeOf([&] { addProject("", validConfig()); }).name, errorName("InvalidArgument"));
}

TEST_F(Api, ProjectObjectStartStop) {
    addProject("obj", validConfig(1200));
    auto proxy = project("obj");
    proxy->callMethod("Start").onInterface(etmem::bus::kProjectInterface.data());
    EXPECT_EQ(projectState("obj"), "running");
    EXPECT_EQ(outcomeOf([&] {
                  proxy->callMethod("Start").onInterface(etmem::bus::kProjectInterface.data());
              }).name,
              errorName("AlreadyRunning"));
    auto start = std::chrono::steady_clock::now();
    proxy->callMethod("Stop").onInterface(etmem::bus::kProjectInterface.data());
    // Stop interrupts the 1200 s interval instead of waiting it out.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(projectState("obj"), "stopped");
}

TEST_F(Api, RemovingARunningProjectStopsIt) {
    addProject("busy", validConfig(1200));
    callManager("StartProject", "busy");
    auto start = std::chrono::steady_clock::now();
    callManager("RemoveProject", "busy");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_TRUE(listProjects().empty());
    EXPECT_TRUE(outcomeOf([&] { projectState("busy"); }).failed());
}

TEST_F(Api, TasksAndPidsReflectTheConfig) {
    addProject("t", validConfig());
    using Task = sdbus::Struct<std::string, std::string, std::uint32_t, std::string, std::uint32_t>;
    auto tasks = project("t")
                     ->getProperty("Tasks")
                     .onInterface(etmem::bus::kProjectInterface.data())
                     .get<std::vector<Task>>();
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(std::get<0>(tasks[0]), "pid");
    EXPECT_EQ(std::get<1>(tasks[0]), std::to_string(target_.pid()));
    EXPECT_EQ(std::get<3>(tasks[0]), "slide");
    callManager("StartProject", "t");
    EXPECT_TRUE(eventually(
        [&] {
            auto pids = project("t")
                            ->getProperty("Pids")
                            .onInterface(etmem::bus::kProjectInterface.data())
                            .get<std::vector<std::uint32_t>>();
            return pids == std::vector<std::uint32_t>{static_cast<std::uint32_t>(target_.pid())};
        },
        5s));
}

TEST_F(Api, CyclesIncreaseWhileRunning) {
    addProject("cycling", validConfig());
    EXPECT_EQ(projectCycles("cycling"), 0u);
    auto start = std::chrono::steady_clock::now();
    callManager("StartProject", "cycling");
    // loop=1, interval=1, sleep=1: a cycle is interval + scan + act, then sleep, so cycle
    // n ends about 1 + 2(n-1) s after the start: the second one at about 3 s.
    EXPECT_TRUE(eventually([&] { return projectCycles("cycling") >= 2; }, 8s))
        << "cycles: " << projectCycles("cycling");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GT(took, 2500ms) << "cycles run faster than loop/interval/sleep allow";
    EXPECT_LT(took, 5000ms);
    callManager("StopProject", "cycling");
    auto stoppedAt = projectCycles("cycling");
    std::this_thread::sleep_for(2500ms);
    EXPECT_EQ(projectCycles("cycling"), stoppedAt);
}

// Records PropertiesChanged of one project object on a connection with its own event loop.
class ChangeRecorder {
  public:
    ChangeRecorder(const std::string& address, const std::string& path)
        : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
        proxy_ = sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName), path);
        proxy_->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string& interface,
                         const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>& invalidated) {
                std::lock_guard lock(mutex_);
                if (interface != etmem::bus::kProjectInterface) return;
                if (auto it = changed.find("State"); it != changed.end())
                    states_.push_back(it->second.get<std::string>());
                for (const auto& name : invalidated)
                    if (name == "State") states_.push_back("<invalidated>");
            });
        proxy_->finishRegistration();
        connection_->enterEventLoopAsync();
    }
    ~ChangeRecorder() { connection_->leaveEventLoop(); }
    std::vector<std::string> states() {
        std::lock_guard lock(mutex_);
        return states_;
    }

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::mutex mutex_;
    std::vector<std::string> states_;
};

TEST_F(Api, StateChangesAreSignalled) {
    addProject("watched", validConfig(1200));
    ChangeRecorder recorder(bus_->address(), etmem::bus::projectObjectPath("watched"));
    // A round trip on the recorder's bus connection is not needed: the match rule is added
    // synchronously by finishRegistration.
    callManager("StartProject", "watched");
    EXPECT_TRUE(
        eventually([&] { return recorder.states() == std::vector<std::string>{"running"}; }, 3s))
        << ::testing::PrintToString(recorder.states());
    callManager("StopProject", "watched");
    EXPECT_TRUE(eventually(
        [&] {
            return recorder.states() == std::vector<std::string>{"running", "stopped"};
        },
        3s))
        << ::testing::PrintToString(recorder.states());
}

TEST_F(Api, BusctlMonitorSeesStateChange) {
    addProject("monitored", validConfig(1200));
    auto path = etmem::bus::projectObjectPath("monitored");
    auto monitor = Process::spawn(
        {programs().busctl, "--address=" + bus_->address(), "monitor", "--match",
         "type='signal',interface='org.freedesktop.DBus.Properties',path='" + path + "'"},
        bus_->environment(), outputTo(*dir_ / "monitor.out"));
    // Give busctl a moment to become a monitor: wait until it has printed its banner or
    // anything at all, bounded.
    eventually([&] { return !readFile(*dir_ / "monitor.out").empty(); }, 1s);
    std::this_thread::sleep_for(200ms);
    callManager("StartProject", "monitored");
    EXPECT_TRUE(eventually(
        [&] {
            auto out = readFile(*dir_ / "monitor.out");
            return contains(out, "PropertiesChanged") && contains(out, "\"running\"");
        },
        3s))
        << readFile(*dir_ / "monitor.out");
}

}  // namespace
}  // namespace etmem::test
