// Who may change etmemd: polkit decides, for the caller identified by its bus credentials.
//
// etmemd runs as root; every mutating D-Bus call (AddProject, RemoveProject, StartProject,
// StopProject, Project.Start/Stop, writing LogLevel) asks an Authorizer first and answers
// org.openeuler.Etmem.Error.AccessDenied with AuthDecision::message when it says no.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace sdbus {
class IConnection;
class IObject;
class Message;
}  // namespace sdbus

namespace etmem::service {

// The one polkit action guarding every change (polkit/org.openeuler.etmem.policy).
inline constexpr std::string_view kManageAction = "org.openeuler.etmem.manage";

struct AuthDecision {
    bool allowed;
    std::string message;  // why not, naming the action, when !allowed; empty when allowed
};

// Abstract so tests of other layers can substitute a fake; etmemd uses the polkit one.
class Authorizer {
  public:
    virtual ~Authorizer() = default;
    // sender: the caller's unique bus name; uid: from the bus credentials; interactive: the
    // caller set ALLOW_INTERACTIVE_AUTHORIZATION on its message.
    virtual AuthDecision authorize(const std::string& sender, uid_t uid, bool interactive,
                                   std::string_view action) = 0;
};

struct PolkitTimeouts {
    // polkitd answers a non-interactive check in milliseconds; the margin covers its
    // D-Bus activation on first use.
    std::chrono::milliseconds check{std::chrono::seconds(10)};
    // An interactive check waits for a person to type a password in an agent.
    std::chrono::milliseconds interactiveCheck{std::chrono::minutes(2)};
};

// Asks org.freedesktop.PolicyKit1 over systemBus (the daemon's own connection). Root
// (uid 0) is allowed without asking. polkitd unreachable or failing => denied.
// authorize() makes a blocking D-Bus call: call it from the connection's event-loop thread
// (inside a method handler) or from any thread while that loop runs.
std::unique_ptr<Authorizer> makePolkitAuthorizer(sdbus::IConnection& systemBus,
                                                 PolkitTimeouts timeouts = {});

// The identity of a caller as the bus (not the caller) states it.
struct Caller {
    std::string sender;  // unique bus name, e.g. ":1.42"
    uid_t uid;           // kUnknownUid when the bus would not tell
    bool interactive;    // ALLOW_INTERACTIVE_AUTHORIZATION flag of the message
};
inline constexpr uid_t kUnknownUid = static_cast<uid_t>(-1);

// Reads sender, uid and the interactive flag of a method call. Querying the uid is a bus
// round trip: call it inside the handler of that message.
Caller callerOf(const sdbus::Message& message);

// The caller of the method call `object` is processing now. Throws sdbus::Error when no
// call is being processed (i.e. when used outside a method handler).
Caller currentCaller(const sdbus::IObject& object);

// authorize() for the call `object` is processing now.
AuthDecision authorizeCurrentCall(Authorizer& authorizer, const sdbus::IObject& object,
                                  std::string_view action = kManageAction);

}  // namespace etmem::service
