// SPDX-License-Identifier: MulanPSL-2.0
// Nothing lost, nothing doubled: the bus name before the state, one daemon per state
// directory, bad or unreadable state files never blocking a start, stop and remove on a full
// or read-only state directory, every changing property announced.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using Listing = std::map<std::string, std::pair<std::string, ino_t>>;

// Every file of a directory with its content and inode: what "untouched" is checked against.
Listing listing(const fs::path& dir) {
    Listing files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        struct stat info {};
        ::lstat(entry.path().c_str(), &info);
        files[entry.path().filename().string()] = {readFile(entry.path()), info.st_ino};
    }
    return files;
}

std::string savedProject(const std::string& name, const std::string& config, bool running) {
    // The state file format (service/state_store.cpp): YAML, name and config double-quoted.
    auto quoted = [](const std::string& text) {
        std::string out = "\"";
        for (char c : text) {
            if (c == '\n')
                out += "\\n";
            else if (c == '"' || c == '\\')
                out += std::string("\\") + c;
            else
                out += c;
        }
        return out + "\"";
    };
    return "name: " + quoted(name) + "\nrunning: " + (running ? "true" : "false") +
           "\nconfig: " + quoted(config) + "\n";
}

class Persistence : public BusTest {};

// A second etmemd on the same name learns it is not the owner before it does anything: its
// state directory (a running project against a live target, and a damaged file) is left
// exactly as it was, and it exits non-zero saying why.
TEST_F(Persistence, SecondDaemonOnTheSameNameTouchesNothing) {
    DaemonOptions options;
    options.stateDir = *dir_ / "state-second";
    options.notifyPath = *dir_ / "notify-second";
    options.logPath = *dir_ / "etmemd-second.log";
    fs::create_directories(options.stateDir);
    writeFile(options.stateDir / "victim.project", savedProject("victim", validConfig(), true));
    writeFile(options.stateDir / "junk.project", "\x01 not: [yaml");
    const Listing before = listing(options.stateDir);

    Daemon second(programs(), *bus_, options);
    auto status = second.process().waitFor(10s);
    ASSERT_TRUE(status) << "the second etmemd did not exit";
    EXPECT_FALSE(status->success()) << describe(*status);
    EXPECT_NE(second.log().find("cannot own the bus name org.openeuler.Etmem"), std::string::npos)
        << second.log();
    EXPECT_EQ(second.log().find("project restored"), std::string::npos) << second.log();
    EXPECT_EQ(listing(options.stateDir), before) << "the state directory was touched";
    EXPECT_FALSE(second.notify().seen("READY=1"));
    EXPECT_TRUE(listProjects().empty());  // the owner is unaffected
}

// One daemon per state directory, whatever the names: the second is refused with the lock.
TEST_F(Persistence, SecondDaemonOnTheSameStateDirectoryIsRefused) {
    DaemonOptions options = daemon_->options();
    options.extraArgs = {"-s", "other"};
    options.notifyPath = *dir_ / "notify-other";
    options.logPath = *dir_ / "etmemd-other.log";
    Daemon other(programs(), *bus_, options);
    auto status = other.process().waitFor(10s);
    ASSERT_TRUE(status) << "the second etmemd did not exit";
    EXPECT_FALSE(status->success());
    EXPECT_NE(other.log().find("another etmemd uses the state directory " +
                               daemon_->options().stateDir.string()),
              std::string::npos)
        << other.log();
    EXPECT_TRUE(daemon_->process().alive());
}

// Today's reproduction: a saved name with an invalid UTF-8 byte made every start fail. Now
// that file is set aside, an unreadable file (EIO) is kept and shown failed, and the good
// project is served.
TEST_F(Persistence, BadAndUnreadableStateFilesNeverBlockTheStart) {
    addProject("good", validConfig());
    ASSERT_TRUE(daemon_->terminate(10s));
    const fs::path state = daemon_->options().stateDir;
    writeFile(state / "caf_e9.project", savedProject("caf\xe9", validConfig(), true));
    fs::create_symlink("/proc/self/mem", state / "flaky.project");  // every read: EIO
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    std::set<std::string> names;
    for (const auto& entry : listProjects()) names.insert(entry.get<0>());
    EXPECT_EQ(names, (std::set<std::string>{"flaky", "good"}));
    EXPECT_EQ(projectState("flaky"), "failed");
    auto lastError = project("flaky")
                         ->getProperty("LastError")
                         .onInterface(etmem::bus::kProjectInterface.data())
                         .get<std::string>();
    EXPECT_NE(lastError.find("could not be read (Input/output error)"), std::string::npos)
        << lastError;
    EXPECT_TRUE(fs::is_symlink(state / "flaky.project"));
    EXPECT_FALSE(fs::exists(state / "caf_e9.project"));
    bool setAside = false;
    for (const auto& entry : fs::directory_iterator(state))
        setAside |= entry.path().filename().string().starts_with("caf_e9.project.damaged-");
    EXPECT_TRUE(setAside);
    EXPECT_NE(daemon_->log().find("caf_e9.project cannot be restored"), std::string::npos)
        << daemon_->log();
}

// A task naming etmemd's own pid is refused with a message that says so.
TEST_F(Persistence, TaskTargetingEtmemdIsRefused) {
    auto outcome =
        outcomeOf([&] { addProject("self", pidConfig(daemon_->process().pid(), 1, 1, 1)); });
    EXPECT_EQ(outcome.name, bus::errorName(bus::ErrorKind::InvalidConfig));
    EXPECT_NE(outcome.message.find("targets etmemd itself"), std::string::npos) << outcome.message;
    EXPECT_TRUE(listProjects().empty());
}

// Records every PropertiesChanged on one object, on a connection of its own.
class PropertiesMonitor {
  public:
    PropertiesMonitor(const std::string& address, const std::string& path)
        : connection_(sdbus::createSessionBusConnectionWithAddress(address)) {
        proxy_ = sdbus::createProxy(*connection_, std::string(bus::kDefaultBusName), path);
        proxy_->uponSignal("PropertiesChanged")
            .onInterface("org.freedesktop.DBus.Properties")
            .call([this](const std::string&, const std::map<std::string, sdbus::Variant>& changed,
                         const std::vector<std::string>& invalidated) {
                std::lock_guard lock(mutex_);
                for (const auto& [name, value] : changed) seen_.insert(name);
                seen_.insert(invalidated.begin(), invalidated.end());
            });
        proxy_->finishRegistration();
        connection_->enterEventLoopAsync();
    }
    ~PropertiesMonitor() { connection_->leaveEventLoop(); }
    void clear() {
        std::lock_guard lock(mutex_);
        seen_.clear();
    }
    bool saw(const std::string& property) {
        std::lock_guard lock(mutex_);
        return seen_.contains(property);
    }

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> proxy_;
    std::mutex mutex_;
    std::set<std::string> seen_;
};

TEST_F(Persistence, LogLevelChangeIsAnnounced) {
    PropertiesMonitor monitor(bus_->address(), managerPath());
    manager()
        ->setProperty("LogLevel")
        .onInterface(etmem::bus::kManagerInterface.data())
        .toValue(std::uint32_t{0});
    EXPECT_TRUE(eventually([&] { return monitor.saw("LogLevel"); }, 5s));
}

// The one threshold has three doors; whichever is used, both objects showing it announce it.
TEST_F(Persistence, LogLevelChangeIsAnnouncedByLogControlToo) {
    PropertiesMonitor logControl(bus_->address(), "/org/freedesktop/LogControl1");
    PropertiesMonitor managerMonitor(bus_->address(), managerPath());
    manager()
        ->setProperty("LogLevel")
        .onInterface(etmem::bus::kManagerInterface.data())
        .toValue(std::uint32_t{0});
    EXPECT_TRUE(eventually([&] { return logControl.saw("LogLevel"); }, 5s));
    managerMonitor.clear();
    sdbus::createProxy(*connection_, defaultBusName(), "/org/freedesktop/LogControl1")
        ->setProperty("LogLevel")
        .onInterface("org.freedesktop.LogControl1")
        .toValue(std::string("warning"));
    EXPECT_TRUE(eventually([&] { return managerMonitor.saw("LogLevel"); }, 5s));
}

TEST_F(Persistence, CycleStatisticsAreAnnounced) {
    addProject("p", validConfig());
    PropertiesMonitor monitor(bus_->address(), etmem::bus::projectObjectPath("p"));
    callManager("StartProject", "p");
    EXPECT_TRUE(eventually([&] { return monitor.saw("State"); }, 5s));
    ASSERT_TRUE(eventually([&] { return projectCycles("p") >= 1; }, 10s)) << daemon_->log();
    // What a cycle's report changes, announced by that report (not only by the start).
    monitor.clear();
    for (std::string property : {"Histogram", "Scanner", "Swapper", "TaskStatistics", "Cycles"})
        EXPECT_TRUE(eventually([&] { return monitor.saw(property); }, 10s)) << property;
    // A task that has reported names its backends: "none" where it has none (this host has
    // no scanner for the test's pinned idle_page), as the XML documents, never "".
    auto scanner = project("p")
                       ->getProperty("Scanner")
                       .onInterface(etmem::bus::kProjectInterface.data())
                       .get<std::string>();
    EXPECT_FALSE(scanner.empty());
}

// Stop and remove are how an operator gets out of trouble: they work when the state
// directory is full or read-only, and the reply says what could not be saved. The daemon
// runs in a mount namespace of its own with a 256 KiB tmpfs as its state directory; the
// test fills it and remounts it read-only from inside that namespace (nsenter).
TEST_F(Persistence, StopAndRemoveWorkWhenTheStateDirectoryIsFullOrReadOnly) {
    Programs wrapped = programs();
    wrapped.etmemd = (*dir_ / "etmemd-on-tmpfs").string();
    writeFile(wrapped.etmemd,
              "#!/bin/sh\nexec unshare -m --propagation private sh -c 'mount -t tmpfs -o "
              "size=256k etmem-test \"$STATE_DIRECTORY\" && exec \"$0\" \"$@\"' " +
                  programs().etmemd + " \"$@\"\n");
    fs::permissions(wrapped.etmemd, fs::perms::owner_all);
    DaemonOptions options;
    options.extraArgs = {"-s", "tight"};
    options.stateDir = *dir_ / "state-tight";
    options.notifyPath = *dir_ / "notify-tight";
    options.logPath = *dir_ / "etmemd-tight.log";
    Daemon tight(wrapped, *bus_, options);
    ASSERT_TRUE(tight.waitReady()) << tight.log();
    const std::string busName = bus::busNameForInstance("tight");
    const std::string pid = std::to_string(tight.process().pid());
    const std::string stateDir = options.stateDir.string();
    auto inNamespace = [&](const std::string& script) {
        return runCommand({"/usr/bin/nsenter", "-t", pid, "-m", "sh", "-c", script},
                          currentEnvironment());
    };
    auto call = [&](const std::string& method, const std::string& name) {
        return outcomeOf([&] {
            manager(busName)
                ->callMethod(method)
                .onInterface(bus::kManagerInterface.data())
                .withArguments(name);
        });
    };
    auto add = [&](const std::string& name) {
        return outcomeOf([&] {
            manager(busName)
                ->callMethod("AddProject")
                .onInterface(bus::kManagerInterface.data())
                .withArguments(name, validConfig());
        });
    };
    auto names = [&] {
        std::set<std::string> all;
        for (const auto& entry : listProjects(busName)) all.insert(entry.get<0>());
        return all;
    };
    ASSERT_FALSE(add("p").failed());
    ASSERT_FALSE(add("q").failed());
    ASSERT_FALSE(call("StartProject", "p").failed());

    // Full: a stop cannot be written, yet it happens; a remove (an unlink) still works.
    inNamespace("cat /dev/zero > '" + stateDir + "/fill'");
    EXPECT_TRUE(add("r").failed()) << "the tmpfs is not full";
    auto stop = call("StopProject", "p");
    EXPECT_EQ(stop.name, bus::errorName(bus::ErrorKind::Failed));
    EXPECT_NE(stop.message.find("project 'p' is stopped, but that could not be saved"),
              std::string::npos)
        << stop.message;
    EXPECT_EQ(listProjects(busName).at(0).get<1>(), "stopped");
    EXPECT_FALSE(call("RemoveProject", "q").failed());
    EXPECT_EQ(names(), std::set<std::string>{"p"});

    // Read-only: both take effect and say what was not saved.
    ASSERT_EQ(inNamespace("rm '" + stateDir + "/fill'").status.code, 0);
    ASSERT_FALSE(call("StartProject", "p").failed());
    ASSERT_EQ(inNamespace("mount -o remount,ro '" + stateDir + "'").status.code, 0);
    stop = call("StopProject", "p");
    EXPECT_NE(stop.message.find("is stopped, but that could not be saved"), std::string::npos)
        << stop.message;
    EXPECT_NE(stop.message.find("Read-only file system"), std::string::npos) << stop.message;
    auto remove = call("RemoveProject", "p");
    EXPECT_EQ(remove.name, bus::errorName(bus::ErrorKind::Failed));
    EXPECT_NE(remove.message.find("project 'p' is deleted and stopped, but its state file could "
                                  "not be deleted"),
              std::string::npos)
        << remove.message;
    EXPECT_TRUE(names().empty());
    EXPECT_TRUE(tight.process().alive());
}

// The restore is one batch: however many projects, one STATUS= for it (and the one with
// READY=1), and `etmem project show` (one GetManagedObjects) lists every one.
TEST_F(Persistence, RestoreIsOneBatchAndShowListsEveryProject) {
    ASSERT_TRUE(daemon_->terminate(10s));
    const fs::path state = daemon_->options().stateDir;
    constexpr int kCount = 300;
    for (int i = 0; i < kCount; ++i) {
        std::string name = "p" + std::to_string(i);
        writeFile(state / (name + ".project"), savedProject(name, validConfig(), false));
    }
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady(60s)) << daemon_->log();
    EXPECT_EQ(listProjects().size(), static_cast<std::size_t>(kCount));
    int statuses = 0;
    for (const auto& assignment : daemon_->notify().received())
        statuses += assignment.starts_with("STATUS=");
    EXPECT_LE(statuses, 2);
    EXPECT_EQ(daemon_->notify().lastStatus(), "300 projects: 0 running, 300 stopped");
    auto show = etmem({"project", "show", "--json"});
    ASSERT_EQ(show.status.code, 0) << show.err;
    for (int i : {0, 150, kCount - 1})
        EXPECT_NE(show.out.find("\"p" + std::to_string(i) + "\""), std::string::npos) << i;
}

}  // namespace
}  // namespace etmem::test
