// SPDX-License-Identifier: MulanPSL-2.0
#include "bus_fixture.hpp"

#include <iostream>

namespace etmem::test {

CallOutcome outcomeOf(const std::function<void()>& call) {
    try {
        call();
    } catch (const sdbus::Error& error) {
        return {error.getName(), error.getMessage()};
    }
    return {};
}

void BusTest::SetUp() {
    // The bus policy lets only root own etmem's names, as on a real system.
    if (geteuid() != 0) GTEST_SKIP() << "needs root: only root may own org.openeuler.Etmem";
    dir_ = std::make_unique<TempDir>();
    bus_ = std::make_unique<PrivateBus>(programs(), dir_->path(), busExtraConfig());
    target_ = Process::spawn({"/bin/sleep", "100000"}, currentEnvironment());
    daemon_ = startDaemon("main", {}, daemonExtraEnv());
    ASSERT_TRUE(daemon_->waitReady()) << "etmemd did not send READY=1; its log:\n"
                                      << daemon_->log();
    connection_ = sdbus::createSessionBusConnectionWithAddress(bus_->address());
}

void BusTest::TearDown() {
    if (HasFailure() && daemon_) std::cerr << "--- etmemd log ---\n" << daemon_->log() << "---\n";
}

std::unique_ptr<Daemon> BusTest::startDaemon(const std::string& tag,
                                             std::vector<std::string> extraArgs,
                                             Environment extraEnv) {
    DaemonOptions options;
    options.extraArgs = std::move(extraArgs);
    options.stateDir = *dir_ / ("state-" + tag);
    options.notifyPath = *dir_ / ("notify-" + tag);
    options.logPath = *dir_ / ("etmemd-" + tag + ".log");
    return std::make_unique<Daemon>(programs(), *bus_, options,
                                    DaemonExtras{std::move(extraEnv), {}});
}

void BusTest::restartDaemon() {
    auto options = daemon_->options();
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(programs(), *bus_, options);
}

CommandResult BusTest::etmem(const std::vector<std::string>& args) {
    std::vector<std::string> argv{programs().etmem};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, bus_->environment());
}

CommandResult BusTest::busctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{programs().busctl, "--address=" + bus_->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv, bus_->environment());
}

std::string BusTest::writeConfig(const std::string& fileName, const std::string& text) {
    auto path = *dir_ / fileName;
    writeFile(path, text);
    return path.string();
}

std::unique_ptr<sdbus::IProxy> BusTest::manager(const std::string& busName) {
    return sdbus::createProxy(*connection_, busName, managerPath());
}

std::unique_ptr<sdbus::IProxy> BusTest::project(const std::string& name,
                                                const std::string& busName) {
    return sdbus::createProxy(*connection_, busName, etmem::bus::projectObjectPath(name));
}

sdbus::ObjectPath BusTest::addProject(const std::string& name, const std::string& config) {
    sdbus::ObjectPath path;
    manager()
        ->callMethod("AddProject")
        .onInterface(etmem::bus::kManagerInterface.data())
        .withArguments(name, config)
        .storeResultsTo(path);
    return path;
}

void BusTest::callManager(const std::string& method, const std::string& name) {
    manager()
        ->callMethod(method)
        .onInterface(etmem::bus::kManagerInterface.data())
        .withArguments(name);
}

std::vector<ProjectEntry> BusTest::listProjects(const std::string& busName) {
    std::vector<ProjectEntry> projects;
    manager(busName)
        ->callMethod("ListProjects")
        .onInterface(etmem::bus::kManagerInterface.data())
        .storeResultsTo(projects);
    return projects;
}

std::string BusTest::projectState(const std::string& name) {
    return project(name)
        ->getProperty("State")
        .onInterface(etmem::bus::kProjectInterface.data())
        .get<std::string>();
}

std::uint64_t BusTest::projectCycles(const std::string& name) {
    return project(name)
        ->getProperty("Cycles")
        .onInterface(etmem::bus::kProjectInterface.data())
        .get<std::uint64_t>();
}

bool BusTest::waitForState(const std::string& name, const std::string& state,
                           std::chrono::milliseconds timeout) {
    return eventually([&] { return projectState(name) == state; }, timeout);
}

}  // namespace etmem::test
