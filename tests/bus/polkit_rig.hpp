// polkit for bus tests: the real polkitd on the private bus (etmem's action and the test's
// own rules bind-mounted in a mount namespace of its own), or a stand-in for a hung one.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

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

}  // namespace etmem::test
