// SPDX-License-Identifier: MulanPSL-2.0
#include "polkit_authorizer.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <sdbus-c++/sdbus-c++.h>

#include <map>

#include "etmem/contract/limits.hpp"
#include "raw_bus.hpp"

namespace etmem::service {
namespace {

constexpr const char* kBusName = "org.freedesktop.DBus";
constexpr const char* kBusPath = "/org/freedesktop/DBus";
constexpr const char* kPolkitBusName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitAuthorityPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitAuthorityInterface = "org.freedesktop.PolicyKit1.Authority";
// CheckAuthorization flag: polkit may ask the user through an authentication agent.
constexpr std::uint32_t kAllowUserInteraction = 1;

// polkit's (sa{sv}) subject and (bba{ss}) result.
using PolkitSubject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
using PolkitDetails = std::map<std::string, std::string>;
using PolkitResult = sdbus::Struct<bool, bool, PolkitDetails>;

constexpr std::size_t kReservedChecks = kMaxPendingChecks / 4;

// What is waiting for an answer, per caller and in all: the checks and the bytes their
// arguments hold. Shared with the tickets, which may outlive the authorizer in sdbus-c++'s
// dropped callbacks.
struct PendingLedger {
    struct Share {
        std::size_t checks = 0;
        std::size_t bytes = 0;
    };
    std::map<std::string, Share> bySender;  // from the call until polkit has answered
    Share total;
    std::map<uid_t, std::size_t> polkitChecksByUid;  // at polkitd
    std::size_t polkitChecks = 0;
};

// One pending entry in the ledger, given back when the last copy of the ticket goes.
class Ticket {
  public:
    Ticket(std::shared_ptr<PendingLedger> ledger, std::function<void(PendingLedger&)> release)
        : ledger_(std::move(ledger)), release_(std::move(release)) {}
    ~Ticket() { release_(*ledger_); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;

  private:
    std::shared_ptr<PendingLedger> ledger_;
    std::function<void(PendingLedger&)> release_;
};

// A sender's call while it waits for the bus and polkit; nullptr when its arguments would
// take the caller, or everyone, past the bytes that may wait.
std::shared_ptr<Ticket> admitCall(const std::shared_ptr<PendingLedger>& ledger,
                                  const std::string& sender, std::size_t bytes) {
    PendingLedger::Share& share = ledger->bySender[sender];
    // Not the number: a root caller's checks end at the bus's answer, and others' are
    // counted per uid once the bus has named it.
    const bool fits = share.bytes + bytes <= kMaxPendingArgumentBytesPerCaller &&
                      ledger->total.bytes + bytes <= kMaxPendingArgumentBytes;
    if (!fits) {
        if (share.checks == 0) ledger->bySender.erase(sender);
        return nullptr;
    }
    ++share.checks, share.bytes += bytes;
    ++ledger->total.checks, ledger->total.bytes += bytes;
    return std::make_shared<Ticket>(ledger, [sender, bytes](PendingLedger& l) {
        auto it = l.bySender.find(sender);
        it->second.bytes -= bytes;
        if (--it->second.checks == 0) l.bySender.erase(it);
        --l.total.checks, l.total.bytes -= bytes;
    });
}

// A check at polkitd for `uid`, which holds one of etmemd's pending replies at dbus-daemon.
// The last kReservedChecks places are for users with no check pending: however many users
// flood, one more can still be asked about.
std::shared_ptr<Ticket> admitPolkitCheck(const std::shared_ptr<PendingLedger>& ledger, uid_t uid) {
    std::size_t& checks = ledger->polkitChecksByUid[uid];
    const std::size_t places =
        checks == 0 ? kMaxPendingChecks : kMaxPendingChecks - kReservedChecks;
    if (checks >= kMaxPendingChecksPerCaller || ledger->polkitChecks >= places) {
        if (checks == 0) ledger->polkitChecksByUid.erase(uid);
        return nullptr;
    }
    ++checks, ++ledger->polkitChecks;
    return std::make_shared<Ticket>(ledger, [uid](PendingLedger& l) {
        auto it = l.polkitChecksByUid.find(uid);
        if (--it->second == 0) l.polkitChecksByUid.erase(it);
        --l.polkitChecks;
    });
}

AuthDecision overLimit(std::string_view action, std::string_view whose) {
    return {false,
            fmt::format("Not checked: {} as many authorization checks (polkit action {}) pending "
                        "as etmemd takes at once; retry when they have been answered",
                        whose, action),
            true};
}

std::string deniedMessage(std::string_view action, std::string_view why) {
    return fmt::format(
        "Not authorized to manage etmem projects (polkit action {}){}; run as root or ask an "
        "administrator to grant it",
        action, why);
}

bool isTimeout(const sdbus::Error& error) {
    const std::string& name = error.getName();
    return name == "org.freedesktop.DBus.Error.Timeout" ||
           name == "org.freedesktop.DBus.Error.NoReply" ||
           name == "org.freedesktop.DBus.Error.TimedOut";
}

std::string failedCheckMessage(const sdbus::Error& error, std::string_view action,
                               std::chrono::milliseconds timeout) {
    if (isTimeout(error))
        return fmt::format(
            "Not authorized: polkit did not answer about action {} within {} ms; run as root, "
            "or check polkitd ('systemctl status polkit')",
            action, timeout.count());
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

AuthDecision decide(const PolkitResult& result, bool interactive, std::string_view action) {
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

class PolkitAuthorizer final : public Authorizer {
  public:
    PolkitAuthorizer(sdbus::IConnection& systemBus, PolkitTimeouts timeouts)
        : bus_(sdbus::createProxy(systemBus, kBusName, kBusPath)),
          authority_(sdbus::createProxy(systemBus, kPolkitBusName, kPolkitAuthorityPath)),
          timeouts_(timeouts) {}

    void authorize(const Caller& caller, std::string_view action, std::size_t heldBytes,
                   Decided decided) override {
        if (caller.sender.empty()) {
            // Only a peer-to-peer connection has no sender; etmemd serves none. Still, the
            // answer comes later, as promised.
            decided({false, deniedMessage(action, ": the caller has no bus name to check")});
            return;
        }
        auto call = admitCall(ledger_, caller.sender, heldBytes);
        if (!call)
            return decided(overLimit(action, "this connection, or all callers together, have"));
        uidOf(caller.sender, [this, caller, call, action = std::string(action),
                              decided = std::move(decided)](uid_t uid, std::string error) {
            if (uid == 0) return decided({true, {}});
            if (uid == kUnknownUid)
                return decided({false, deniedMessage(action,
                                                     ": the bus would not say who the "
                                                     "caller is (" +
                                                         error + ")")});
            auto check = admitPolkitCheck(ledger_, uid);
            if (!check) return decided(overLimit(action, "this user, or all users together, have"));
            try {
                checkAuthorization(caller, action, [call, check, decided](AuthDecision decision) {
                    decided(std::move(decision));
                });
            } catch (const sdbus::Error& failed) {
                // This runs inside a reply callback: nothing may be thrown into sd-bus.
                decided({false, failedCheckMessage(failed, action, timeouts_.check)});
            }
        });
    }

    void uidOf(const std::string& sender, UidKnown known) override {
        bus_->callMethodAsync("GetConnectionUnixUser")
            .onInterface(kBusName)
            .withArguments(sender)
            .uponReplyInvoke([known = std::move(known)](const sdbus::Error* error, uint32_t uid) {
                if (error != nullptr) return known(kUnknownUid, error->getMessage());
                known(static_cast<uid_t>(uid), {});
            });
    }

    uid_t uidOfNow(const std::string& sender) override {
        uint32_t uid = kUnknownUid;
        try {
            bus_->callMethod("GetConnectionUnixUser")
                .onInterface(kBusName)
                .withArguments(sender)
                .storeResultsTo(uid);
        } catch (const sdbus::Error&) {
            return kUnknownUid;
        }
        return static_cast<uid_t>(uid);
    }

  private:
    void checkAuthorization(const Caller& caller, const std::string& action, Decided decided) {
        // The bus name, not a pid or uid: polkitd asks the bus who owns it, so the caller
        // cannot be confused with a process that reused its pid.
        PolkitSubject subject{"system-bus-name", {{"name", sdbus::Variant(caller.sender)}}};
        const PolkitDetails details;
        const std::uint32_t flags = caller.interactive ? kAllowUserInteraction : 0;
        const auto timeout = caller.interactive ? timeouts_.interactiveCheck : timeouts_.check;
        authority_->callMethodAsync("CheckAuthorization")
            .onInterface(kPolkitAuthorityInterface)
            .withTimeout(timeout)
            .withArguments(subject, action, details, flags, std::string())
            .uponReplyInvoke(
                [interactive = caller.interactive, action, timeout, decided = std::move(decided)](
                    const sdbus::Error* error, PolkitResult result) {
                    // Never allow by default: no answer from polkit is a refusal.
                    if (error != nullptr)
                        return decided({false, failedCheckMessage(*error, action, timeout)});
                    decided(decide(result, interactive, action));
                });
    }

    // Destroyed with the authorizer: sdbus-c++ then drops the pending calls' callbacks.
    std::unique_ptr<sdbus::IProxy> bus_;
    std::unique_ptr<sdbus::IProxy> authority_;
    PolkitTimeouts timeouts_;
    std::shared_ptr<PendingLedger> ledger_ = std::make_shared<PendingLedger>();
};

}  // namespace

std::unique_ptr<Authorizer> makePolkitAuthorizer(sdbus::IConnection& systemBus,
                                                 PolkitTimeouts timeouts) {
    return std::make_unique<PolkitAuthorizer>(systemBus, timeouts);
}

Caller callerOf(const sdbus::Message& message) {
    const int interactive =
        sd_bus_message_get_allow_interactive_authorization(RawMessageAccess::raw(message));
    return Caller{message.getSender(), interactive > 0};
}

Caller currentCaller(const sdbus::IObject& object) {
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    if (message == nullptr)
        throw sdbus::Error("org.freedesktop.DBus.Error.Failed",
                           "no D-Bus call is being processed to authorize");
    return callerOf(*message);
}

}  // namespace etmem::service
