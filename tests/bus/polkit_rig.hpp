// SPDX-License-Identifier: MulanPSL-2.0
// polkit for bus tests: the real polkitd on the private bus (etmem's action and the test's
// own rules bind-mounted in a mount namespace of its own), or a stand-in for a hung one; and
// what a password prompt needs: a user with a password, polkit's setuid helper on the same
// bus, and a terminal the test types into.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bus_harness.hpp"

namespace etmem::test {

inline constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";

// Bus config elements: polkit's own bus policy, and root may own polkit's name (for the
// stand-in, which runs as root in the test).
std::string polkitBusConfig();

bool nameHasOwner(sdbus::IConnection& connection, const std::string& name);

// /usr/lib/polkit-1/polkitd with polkit/org.openeuler.etmem.policy and `rules` (JavaScript)
// as the only rules file. `dir` must be reachable by the polkitd user (0755).
class PolkitDaemon {
  public:
    PolkitDaemon(const PrivateBus& bus, const std::filesystem::path& dir, const std::string& rules);
    // Waits until polkitd owns its bus name.
    bool waitReady(sdbus::IConnection& probe, std::chrono::milliseconds timeout);
    Process& process() { return process_; }

  private:
    Process process_;
};

// Owns org.freedesktop.PolicyKit1 and never reads a message: a polkitd that hangs.
class SilentPolkit {
  public:
    explicit SilentPolkit(const std::string& busAddress);

  private:
    std::unique_ptr<sdbus::IConnection> connection_;
};

// Runs argv as `user` (setpriv, no supplementary groups).
std::vector<std::string> asUser(const std::string& user, std::vector<std::string> argv);

// A user created for one test, member of `group` (created too), whose password is set with
// chpasswd; both removed on destruction. The names are the test's own (etmemtest-*): what a
// crashed run left behind is replaced.
class TestAccount {
  public:
    TestAccount(std::string user, std::string group, const std::string& password);
    ~TestAccount();
    TestAccount(const TestAccount&) = delete;
    TestAccount& operator=(const TestAccount&) = delete;
    const std::string& user() const { return user_; }

  private:
    std::string user_;
    std::string group_;
};

// A password no one knows beforehand: a test account never has a guessable one.
std::string randomPassword();

// Runs argv (as root; wrap argv with asUser) in a mount namespace where the private bus is
// also at the system bus's well-known socket, /run/dbus/system_bus_socket. polkit's
// authentication helper (polkit-agent-helper-1, which pkttyagent runs to check the password
// with PAM) is setuid and clears its environment: DBUS_SYSTEM_BUS_ADDRESS does not reach it,
// and it reports the result to polkitd on the well-known socket only.
std::vector<std::string> onWellKnownSystemBus(const PrivateBus& bus, std::vector<std::string> argv);

// A program on a new pseudo-terminal, its controlling terminal and standard streams (as a
// person's shell would run it), which the test reads and types into.
class Terminal {
  public:
    Terminal(const std::vector<std::string>& argv, const Environment& env);
    // Reads until `text` has been shown; false if not within `timeout`.
    bool waitFor(std::string_view text, std::chrono::milliseconds timeout);
    // Reads until the terminal stops echoing: a password reader has turned echo off (typing
    // earlier would be flushed, or shown).
    bool waitForEchoOff(std::chrono::milliseconds timeout);
    void type(std::string_view text);
    // Reads until the program has exited; nullopt if not within `timeout`.
    std::optional<ExitStatus> waitExit(std::chrono::milliseconds timeout);
    // Everything shown so far.
    const std::string& output() const { return output_; }

  private:
    // Reads what is shown within `timeout`; false once no one holds the terminal open.
    bool readFor(std::chrono::milliseconds timeout);
    UniqueFd master_;
    Process process_;
    std::string output_;
    bool closed_ = false;
};

}  // namespace etmem::test
