// SPDX-License-Identifier: MulanPSL-2.0
// etmemd's life: sd_notify, signals, persistence across restarts, instances, options.
#include <set>

#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::set<std::string> filesIn(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file()) names.insert(entry.path().filename().string());
    return names;
}

std::vector<std::pair<std::string, std::string>> namesAndStates(
    const std::vector<ProjectEntry>& projects) {
    std::vector<std::pair<std::string, std::string>> result;
    for (const auto& entry : projects) result.emplace_back(std::get<0>(entry), std::get<1>(entry));
    std::sort(result.begin(), result.end());
    return result;
}

class Lifecycle : public BusTest {};

TEST_F(Lifecycle, ReadyAndStatusOnNotifySocket) {
    EXPECT_TRUE(daemon_->notify().seen("READY=1"));
    EXPECT_TRUE(daemon_->notify().waitFor("STATUS=", 2s));
    EXPECT_FALSE(daemon_->notify().lastStatus().empty());
    EXPECT_FALSE(daemon_->notify().seen("STOPPING=1"));
    // STATUS is kept current: it changes once a project is added.
    auto before = daemon_->notify().lastStatus();
    addProject("counted", validConfig());
    EXPECT_TRUE(eventually([&] { return daemon_->notify().lastStatus() != before; }, 2s))
        << "STATUS stayed \"" << before << "\"";
}

TEST_F(Lifecycle, SigtermWhileRunningStopsPromptly) {
    addProject("long", validConfig(1200));
    callManager("StartProject", "long");
    ASSERT_EQ(projectState("long"), "running");
    auto start = std::chrono::steady_clock::now();
    auto status = daemon_->terminate(5s);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(status) << "etmemd still running 5 s after SIGTERM";
    EXPECT_TRUE(status->success()) << describe(*status);
    EXPECT_LT(took, 2s);
    EXPECT_TRUE(daemon_->notify().waitFor("STOPPING=1", 100ms));
}

TEST_F(Lifecycle, SigintStopsToo) {
    daemon_->process().sendSignal(SIGINT);
    auto status = daemon_->process().waitFor(5s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->success()) << describe(*status);
    EXPECT_TRUE(daemon_->notify().waitFor("STOPPING=1", 100ms));
}

TEST_F(Lifecycle, WatchdogPingsWhenAsked) {
    // A second daemon (own instance) started by hand, since it needs WATCHDOG_USEC.
    NotifySocket notify(*dir_ / "notify-watchdog");
    auto env = bus_->environment();
    env["NOTIFY_SOCKET"] = notify.path().string();
    env["STATE_DIRECTORY"] = (*dir_ / "state-watchdog").string();
    env["WATCHDOG_USEC"] = "400000";
    auto logPath = (*dir_ / "etmemd-watchdog.log").string();
    auto process = Process::spawn({programs().etmemd, "-s", "watched"}, env, outputTo(logPath));
    EXPECT_TRUE(notify.waitFor("READY=1", 10s)) << readFile(logPath);
    EXPECT_TRUE(notify.waitFor("WATCHDOG=1", 2s)) << readFile(logPath);
    process.sendSignal(SIGTERM);
    auto status = process.waitFor(5s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->success()) << describe(*status);
}

TEST_F(Lifecycle, RestartRestoresProjects) {
    addProject("resting", validConfig());
    addProject("working", validConfig(1200));
    callManager("StartProject", "working");
    auto before = namesAndStates(listProjects());
    ASSERT_TRUE(daemon_->terminate(5s));

    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_EQ(namesAndStates(listProjects()), before);
    EXPECT_EQ(projectState("working"), "running");
    EXPECT_EQ(projectState("resting"), "stopped");
    // The restored config is the one that was added.
    auto interval = project("working")
                        ->getProperty("Interval")
                        .onInterface(etmem::bus::kProjectInterface.data())
                        .get<std::uint32_t>();
    EXPECT_EQ(interval, 1200u);

    // Removing is remembered too.
    callManager("RemoveProject", "resting");
    ASSERT_TRUE(daemon_->terminate(5s));
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_EQ(namesAndStates(listProjects()),
              (std::vector<std::pair<std::string, std::string>>{{"working", "running"}}));
}

TEST_F(Lifecycle, RestoredRunningProjectCycles) {
    addProject("again", validConfig());
    callManager("StartProject", "again");
    ASSERT_TRUE(daemon_->terminate(5s));
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_TRUE(eventually([&] { return projectCycles("again") >= 1; }, 6s));
}

TEST_F(Lifecycle, DamagedStateFileIsSetAside) {
    auto stateDir = daemon_->options().stateDir;
    addProject("healthy", validConfig(1200));
    callManager("StartProject", "healthy");
    auto healthyFiles = filesIn(stateDir);
    addProject("broken", validConfig());
    std::vector<std::string> brokenFiles;
    for (const auto& name : filesIn(stateDir))
        if (!healthyFiles.contains(name)) brokenFiles.push_back(name);
    ASSERT_EQ(brokenFiles.size(), 1u) << "expected one new state file for a new project";
    ASSERT_TRUE(daemon_->terminate(5s));

    const std::string garbage = "\x01\x02not a project{{{\n\xff\xfe";
    writeFile(stateDir / brokenFiles[0], garbage);
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_EQ(namesAndStates(listProjects()),
              (std::vector<std::pair<std::string, std::string>>{{"healthy", "running"}}));
    EXPECT_FALSE(fs::exists(stateDir / brokenFiles[0])) << "damaged file left in place";
    bool keptAside = false;
    for (const auto& name : filesIn(stateDir))
        keptAside = keptAside || (readFile(stateDir / name) == garbage);
    EXPECT_TRUE(keptAside) << "the damaged file's content is gone instead of set aside";
    EXPECT_NE(daemon_->log().find(brokenFiles[0]), std::string::npos)
        << "the log does not name the damaged file";
    // The name is free again.
    EXPECT_NO_THROW(addProject("broken", validConfig()));
}

TEST_F(Lifecycle, EmptyAndUnreadableStateDirectoryEntries) {
    auto stateDir = daemon_->options().stateDir;
    ASSERT_TRUE(daemon_->terminate(5s));
    writeFile(stateDir / "stray.txt", "not etmem's");
    fs::create_directories(stateDir / "subdir");
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Lifecycle, InstancesSideBySide) {
    auto second = startDaemon("second", {"-s", "second"});
    ASSERT_TRUE(second->waitReady()) << second->log();
    auto secondBus = etmem::bus::busNameForInstance("second");

    auto path = writeConfig("inst.yaml", validConfig());
    auto added = etmem({"project", "add", "-n", "only-second", "-f", path, "-s", "second"});
    ASSERT_TRUE(added.status.success()) << added.err;
    auto addedDefault = etmem({"project", "add", "-n", "only-default", "-f", path});
    ASSERT_TRUE(addedDefault.status.success()) << addedDefault.err;

    auto inSecond = namesAndStates(listProjects(secondBus));
    auto inDefault = namesAndStates(listProjects());
    EXPECT_EQ(inSecond,
              (std::vector<std::pair<std::string, std::string>>{{"only-second", "stopped"}}));
    EXPECT_EQ(inDefault,
              (std::vector<std::pair<std::string, std::string>>{{"only-default", "stopped"}}));
    std::string instance = manager(secondBus)
                               ->getProperty("Instance")
                               .onInterface(etmem::bus::kManagerInterface.data())
                               .get<std::string>();
    EXPECT_EQ(instance, "second");
    auto shown = etmem({"project", "show", "--socket", "second"});
    EXPECT_NE(shown.out.find("only-second"), std::string::npos) << shown.out;
    EXPECT_EQ(shown.out.find("only-default"), std::string::npos) << shown.out;

    // A second daemon for an instance that is already served does not take it over.
    auto duplicate = startDaemon("duplicate", {"-s", "second"});
    auto status = duplicate->process().waitFor(10s);
    ASSERT_TRUE(status) << "a second etmemd for the same instance kept running";
    EXPECT_FALSE(status->success());
    EXPECT_EQ(namesAndStates(listProjects(secondBus)), inSecond);
}

TEST_F(Lifecycle, LogLevelThreshold) {
    // The main daemon runs at the default level and logs an added project (info).
    addProject("noisy", validConfig());
    EXPECT_NE(daemon_->log().find("noisy"), std::string::npos) << daemon_->log();

    auto quiet = startDaemon("quiet", {"-s", "quiet", "-l", "3"});
    ASSERT_TRUE(quiet->waitReady()) << quiet->log();
    auto quietBus = etmem::bus::busNameForInstance("quiet");
    manager(quietBus)
        ->callMethod("AddProject")
        .onInterface(etmem::bus::kManagerInterface.data())
        .withArguments(std::string("hushed"), validConfig());
    manager(quietBus)
        ->callMethod("StartProject")
        .onInterface(etmem::bus::kManagerInterface.data())
        .withArguments(std::string("hushed"));
    EXPECT_EQ(quiet->log().find("hushed"), std::string::npos)
        << "-l 3 (errors only) still logged:\n"
        << quiet->log();
}

TEST_F(Lifecycle, LogLevelPropertyIsWritable) {
    auto set = busctl({"set-property", defaultBusName(), managerPath(),
                       "org.openeuler.Etmem.Manager", "LogLevel", "u", "3"});
    EXPECT_TRUE(set.status.success()) << set.err;
    auto level = manager()
                     ->getProperty("LogLevel")
                     .onInterface(etmem::bus::kManagerInterface.data())
                     .get<std::uint32_t>();
    EXPECT_EQ(level, 3u);
    addProject("after-quiet", validConfig());
    EXPECT_EQ(daemon_->log().find("after-quiet"), std::string::npos) << daemon_->log();
}

// Option handling needs no bus: run etmemd directly.
class Options : public ::testing::Test {
  protected:
    CommandResult etmemd(const std::vector<std::string>& args) {
        std::vector<std::string> argv{ETMEMD_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        auto env = currentEnvironment();
        // Should an option be wrongly accepted, the daemon must not reach any real bus.
        env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + (dir_ / "none").string();
        env["STATE_DIRECTORY"] = (dir_ / "state").string();
        return runCommand(argv, env, 5s);
    }
    TempDir dir_;
};

TEST_F(Options, BadOptionsExit2WithUsage) {
    for (auto args : std::vector<std::vector<std::string>>{{"--bogus"},
                                                           {"-x"},
                                                           {"-l"},
                                                           {"-l", "4"},
                                                           {"-l", "-1"},
                                                           {"-l", "abc"},
                                                           {"--log-level", "9"},
                                                           {"-s"},
                                                           {"-s", std::string(108, 'a')},
                                                           {"-s", ""},
                                                           {"extra-argument"}}) {
        auto result = etmemd(args);
        EXPECT_FALSE(result.timedOut) << quoteCommand(args);
        EXPECT_EQ(result.status.code, 2)
            << quoteCommand(args) << ": " << describe(result.status) << "\n"
            << result.err;
        EXPECT_NE(result.err.find("sage"), std::string::npos)
            << quoteCommand(args) << ": no usage on stderr:\n"
            << result.err;
    }
}

TEST_F(Options, HelpExitsZero) {
    for (const char* flag : {"-h", "--help"}) {
        auto result = etmemd({flag});
        EXPECT_TRUE(result.status.success()) << flag << ": " << describe(result.status);
        EXPECT_NE((result.out + result.err).find("--log-level"), std::string::npos)
            << result.out << result.err;
    }
}

TEST_F(Options, NoBusExitsNonZeroWithAMessage) {
    auto result = etmemd({});
    EXPECT_FALSE(result.timedOut);
    EXPECT_TRUE(result.status.exited);
    EXPECT_NE(result.status.code, 0);
    EXPECT_FALSE(result.err.empty());
}

}  // namespace
}  // namespace etmem::test
