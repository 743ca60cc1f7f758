#include "polkit_authorizer.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <sdbus-c++/sdbus-c++.h>

#include <map>

namespace etmem::service {
namespace {

constexpr const char* kPolkitBusName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitAuthorityPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitAuthorityInterface = "org.freedesktop.PolicyKit1.Authority";
// CheckAuthorization flag: polkit may ask the user through an authentication agent.
constexpr std::uint32_t kAllowUserInteraction = 1;

// polkit's (sa{sv}) subject and (bba{ss}) result.
using PolkitSubject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using PolkitResult = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;

// sdbus-c++ 1.2 does not expose the ALLOW_INTERACTIVE_AUTHORIZATION flag, only the
// protected sd_bus_message* inside sdbus::Message. A pointer to that member, formed
// through a derived class, is the standard-conforming way to read it.
struct RawMessageAccess : sdbus::Message {
    static sd_bus_message* raw(const sdbus::Message& message) {
        constexpr auto member = &RawMessageAccess::msg_;
        return static_cast<sd_bus_message*>(message.*member);
    }
};

std::string deniedMessage(std::string_view action, std::string_view why) {
    return fmt::format(
        "Not authorized to manage etmem projects (polkit action {}){}; run as root or ask an "
        "administrator to grant it",
        action, why);
}

std::string failedCheckMessage(const sdbus::Error& error, std::string_view action) {
    // polkitd answered, with an error of its own (e.g. an action it does not know).
    if (error.getName().starts_with("org.freedesktop.PolicyKit1."))
        return fmt::format(
            "Not authorized: polkit could not decide about action {} ({}); is "
            "org.openeuler.etmem.policy installed in /usr/share/polkit-1/actions?",
            action, error.getMessage());
    return fmt::format(
        "Not authorized: polkit could not be asked about action {} ({}: {}); run as root, or "
        "make sure polkitd runs",
        action, error.getName(), error.getMessage());
}

class PolkitAuthorizer final : public Authorizer {
  public:
    PolkitAuthorizer(sdbus::IConnection& systemBus, PolkitTimeouts timeouts)
        : authority_(sdbus::createProxy(systemBus, kPolkitBusName, kPolkitAuthorityPath)),
          timeouts_(timeouts) {}

    AuthDecision authorize(const std::string& sender, uid_t uid, bool interactive,
                           std::string_view action) override {
        if (uid == 0) return {true, {}};
        if (sender.empty())
            return {false, deniedMessage(action, ": the caller has no bus name to check")};
        try {
            return decide(checkAuthorization(sender, interactive, action), interactive, action);
        } catch (const sdbus::Error& error) {
            // Never allow by default: no answer from polkit is a refusal.
            return {false, failedCheckMessage(error, action)};
        }
    }

  private:
    PolkitResult checkAuthorization(const std::string& sender, bool interactive,
                                    std::string_view action) {
        // The bus name, not a pid or uid: polkitd asks the bus who owns it, so the caller
        // cannot be confused with a process that reused its pid.
        PolkitSubject subject{"system-bus-name", {{"name", sdbus::Variant(sender)}}};
        const std::map<std::string, std::string> details;
        const std::uint32_t flags = interactive ? kAllowUserInteraction : 0;
        const auto timeout = interactive ? timeouts_.interactiveCheck : timeouts_.check;
        PolkitResult result;
        authority_->callMethod("CheckAuthorization")
            .onInterface(kPolkitAuthorityInterface)
            .withTimeout(timeout)
            .withArguments(subject, std::string(action), details, flags, std::string())
            .storeResultsTo(result);
        return result;
    }

    static AuthDecision decide(const PolkitResult& result, bool interactive,
                               std::string_view action) {
        const bool isAuthorized = std::get<0>(result);
        const bool isChallenge = std::get<1>(result);
        const auto& details = std::get<2>(result);
        if (isAuthorized) return {true, {}};
        if (auto dismissed = details.find("polkit.dismissed");
            dismissed != details.end() && dismissed->second == "true")
            return {false, deniedMessage(action, ": the authentication dialog was dismissed")};
        if (isChallenge && !interactive)
            return {false, deniedMessage(action,
                                         ": authentication is required; retry allowing interactive "
                                         "authorization (a polkit agent must be running)")};
        return {false, deniedMessage(action, "")};
    }

    std::unique_ptr<sdbus::IProxy> authority_;
    PolkitTimeouts timeouts_;
};

}  // namespace

std::unique_ptr<Authorizer> makePolkitAuthorizer(sdbus::IConnection& systemBus,
                                                 PolkitTimeouts timeouts) {
    return std::make_unique<PolkitAuthorizer>(systemBus, timeouts);
}

Caller callerOf(const sdbus::Message& message) {
    Caller caller{message.getSender(), kUnknownUid, false};
    try {
        caller.uid = message.getCredsUid();
    } catch (const sdbus::Error&) {
        // Left unknown: the authorizer then asks polkit, which refuses what it cannot place.
    }
    const int interactive =
        sd_bus_message_get_allow_interactive_authorization(RawMessageAccess::raw(message));
    caller.interactive = interactive > 0;
    return caller;
}

Caller currentCaller(const sdbus::IObject& object) {
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    if (message == nullptr)
        throw sdbus::Error("org.freedesktop.DBus.Error.Failed",
                           "no D-Bus call is being processed to authorize");
    return callerOf(*message);
}

AuthDecision authorizeCurrentCall(Authorizer& authorizer, const sdbus::IObject& object,
                                  std::string_view action) {
    const Caller caller = currentCaller(object);
    return authorizer.authorize(caller.sender, caller.uid, caller.interactive, action);
}

}  // namespace etmem::service
