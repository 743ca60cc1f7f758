// SPDX-License-Identifier: MulanPSL-2.0
// GoogleTest fixture: a private system bus, a target process to point projects at, and one
// etmemd (READY=1 awaited) per test. Helpers drive it through the CLI, busctl and sdbus-c++.
#pragma once

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "etmem/contract/bus_names.hpp"
#include "etmem/contract/error_names.hpp"

namespace etmem::test {

using ProjectEntry = sdbus::Struct<std::string, std::string, sdbus::ObjectPath>;

// What a failed D-Bus call said: its error name and message ("" and "" if it succeeded).
struct CallOutcome {
    std::string name;
    std::string message;
    bool failed() const { return !name.empty(); }
};
CallOutcome outcomeOf(const std::function<void()>& call);

class BusTest : public ::testing::Test {
  protected:
    static Programs programs() { return buildPrograms(ETMEMD_PATH, ETMEM_CLI_PATH); }

    void SetUp() override;
    void TearDown() override;
    // More elements for the private bus's config; a fixture overrides it (before SetUp).
    virtual std::string busExtraConfig() const { return {}; }
    // Environment for the main etmemd, on top of the bus's.
    virtual Environment daemonExtraEnv() const { return {}; }

    // Starts another etmemd on the same bus; `tag` names its state dir, notify socket, log.
    std::unique_ptr<Daemon> startDaemon(const std::string& tag,
                                        std::vector<std::string> extraArgs = {},
                                        Environment extraEnv = {});
    // Restarts the main daemon (after it has exited) with the same state directory.
    void restartDaemon();

    CommandResult etmem(const std::vector<std::string>& args);
    CommandResult busctl(const std::vector<std::string>& args);
    std::string writeConfig(const std::string& fileName, const std::string& text);
    std::string validConfig(unsigned interval = 1) const {
        return pidConfig(target_.pid(), 1, interval, 1);
    }

    // Direct calls with sdbus-c++ on the default instance (or `busName`).
    std::unique_ptr<sdbus::IProxy> manager(const std::string& busName = defaultBusName());
    std::unique_ptr<sdbus::IProxy> project(const std::string& name,
                                           const std::string& busName = defaultBusName());
    sdbus::ObjectPath addProject(const std::string& name, const std::string& config);
    void callManager(const std::string& method, const std::string& name);
    std::vector<ProjectEntry> listProjects(const std::string& busName = defaultBusName());
    std::string projectState(const std::string& name);
    std::uint64_t projectCycles(const std::string& name);
    bool waitForState(const std::string& name, const std::string& state,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

    static std::string defaultBusName() { return std::string(etmem::bus::kDefaultBusName); }
    static std::string managerPath() { return std::string(etmem::bus::kManagerPath); }

    std::unique_ptr<TempDir> dir_;
    std::unique_ptr<PrivateBus> bus_;
    Process target_;  // a sleeping process the projects' tasks name by pid
    std::unique_ptr<Daemon> daemon_;
    std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace etmem::test
