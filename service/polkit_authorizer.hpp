// SPDX-License-Identifier: MulanPSL-2.0
// Who may change etmemd: polkit decides, for the caller identified by the bus.
//
// etmemd runs as root; every mutating D-Bus call (AddProject, RemoveProject, StartProject,
// StopProject, SetLogLevel, Project.Start/Stop) asks an Authorizer first and answers
// org.openeuler.Etmem.Error.AccessDenied with AuthDecision::message when it says no.
//
// Nothing here blocks: the caller's uid is asked of the bus (GetConnectionUnixUser on its
// unique name, i.e. what dbus-daemon recorded when the connection was made — never
// /proc/<pid>, which a process can change after connecting and a pid can be reused), and
// polkit's CheckAuthorization is an asynchronous call. The decision arrives as a callback
// on the connection's event-loop thread; the loop serves every other client meanwhile.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace sdbus {
class IConnection;
class IObject;
class Message;
}  // namespace sdbus

namespace etmem::service {

// The polkit action guarding every change but Reload (polkit/org.openeuler.etmem.policy).
inline constexpr std::string_view kManageAction = "org.openeuler.etmem.manage";
// Reload: bring the projects defined by files in line with the files. Its own action, so a
// configuration-management agent may be allowed to reload without managing projects.
inline constexpr std::string_view kReloadAction = "org.openeuler.etmem.reload";

struct AuthDecision {
    bool allowed;
    std::string message;  // why not, naming the action, when !allowed; empty when allowed
    // Refused unasked: the caller (or everyone) already has as many checks pending as
    // etmemd takes; a retry later may succeed.
    bool overLimit = false;
};

// A method call's caller, as the message carries it.
struct Caller {
    std::string sender;  // unique bus name, e.g. ":1.42" (set by the bus, not the caller)
    bool interactive;    // the ALLOW_INTERACTIVE_AUTHORIZATION flag of the message
};

inline constexpr uid_t kUnknownUid = static_cast<uid_t>(-1);

// Abstract so tests of other layers can substitute a fake; etmemd uses the polkit one.
class Authorizer {
  public:
    using Decided = std::function<void(AuthDecision)>;
    using UidKnown = std::function<void(uid_t uid, std::string error)>;
    virtual ~Authorizer() = default;
    // Calls `decided` exactly once on the event-loop thread, when the bus and polkit have
    // answered (at once for a call without a sender, or one over the pending limits of
    // etmem/contract/limits.hpp) — unless the Authorizer is destroyed first, which drops
    // pending checks. heldBytes: what the call's arguments hold while it waits.
    virtual void authorize(const Caller& caller, std::string_view action, std::size_t heldBytes,
                           Decided decided) = 0;
    // The uid the bus recorded for `sender`'s connection (kUnknownUid and a reason when the
    // bus would not tell), asynchronously like authorize().
    virtual void uidOf(const std::string& sender, UidKnown known) = 0;
    // The same, waiting for the bus daemon's answer. Only for property setters, which
    // sdbus-c++ cannot answer later; the bus daemon answers this itself at once, so no
    // client can make it wait.
    virtual uid_t uidOfNow(const std::string& sender) = 0;
};

struct PolkitTimeouts {
    // polkitd answers a non-interactive check in milliseconds; the margin covers its
    // D-Bus activation on first use. Past it, the call is refused as unanswered.
    std::chrono::milliseconds check{std::chrono::seconds(10)};
    // An interactive check waits for a person to type a password in an agent.
    std::chrono::milliseconds interactiveCheck{std::chrono::minutes(2)};
};

// Asks org.freedesktop.PolicyKit1 over systemBus (the daemon's own connection), with the
// caller's bus name as the subject. Root (uid 0 by the bus) is allowed without asking
// polkit. polkitd unreachable, failing or silent past the timeout => denied.
std::unique_ptr<Authorizer> makePolkitAuthorizer(sdbus::IConnection& systemBus,
                                                 PolkitTimeouts timeouts = {});

// Reads sender and the interactive flag of a method call.
Caller callerOf(const sdbus::Message& message);

// The caller of the method call `object` is processing now. Throws sdbus::Error when no
// call is being processed (i.e. when used outside a method handler).
Caller currentCaller(const sdbus::IObject& object);

}  // namespace etmem::service
