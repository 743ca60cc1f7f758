// SPDX-License-Identifier: MulanPSL-2.0
#include "call_guard.hpp"

#include <fmt/format.h>

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <utility>

#include "etmem/contract/limits.hpp"
#include "raw_bus.hpp"

namespace etmem::service {
namespace {

constexpr const char* kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";
constexpr std::size_t kMiB = 1024 * 1024;
constexpr uid_t kUnknownUid = static_cast<uid_t>(-1);
// A reply at least this large is worth giving its memory back to the system after.
constexpr std::size_t kLargeReplyBytes = kMiB;

std::string text(const char* value) {
    return value != nullptr ? value : "";
}

double mebibytes(std::size_t bytes) {
    return static_cast<double>(bytes) / kMiB;
}

ReadCall readCallOf(sd_bus_message* message) {
    ReadCall call{text(sd_bus_message_get_path(message)),
                  text(sd_bus_message_get_interface(message)),
                  text(sd_bus_message_get_member(message)),
                  {}};
    if (call.interface == "org.freedesktop.DBus.Properties" && call.member == "Get") {
        const char* interface = nullptr;
        const char* property = nullptr;
        if (sd_bus_message_read(message, "ss", &interface, &property) >= 0)
            call.property = text(property);
        // sd-bus reads the arguments again when it dispatches the call.
        sd_bus_message_rewind(message, 1);
    }
    return call;
}

// The caller's uid as the bus recorded it (a round trip to the bus, which answers itself):
// the share of unread replies is a user's, however many connections it opens.
uid_t uidOf(sd_bus_message* message) {
    sd_bus_creds* creds = nullptr;
    uid_t uid = kUnknownUid;
    if (sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds) >= 0)
        sd_bus_creds_get_euid(creds, &uid);
    sd_bus_creds_unref(creds);
    return uid;
}

// What dbus-daemon holds for `sender` that it has not read, asked now (a round trip to the
// bus, which answers itself); nullopt if the bus would not say.
std::optional<std::size_t> outgoingBytesNow(sd_bus* bus, const std::string& sender) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int result = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus.Debug.Stats", "GetConnectionStats",
                                    &error, &reply, "s", sender.c_str());
    const bool gone = sd_bus_error_has_name(&error, "org.freedesktop.DBus.Error.NameHasNoOwner");
    sd_bus_error_free(&error);
    if (result < 0) return gone ? std::optional<std::size_t>(0) : std::nullopt;
    std::optional<std::size_t> outgoing;
    if (sd_bus_message_enter_container(reply, 'a', "{sv}") > 0) {
        while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
            const char* key = nullptr;
            std::uint32_t bytes = 0;
            if (sd_bus_message_read(reply, "s", &key) < 0) break;
            if (text(key) == "OutgoingBytes" && sd_bus_message_read(reply, "v", "u", &bytes) >= 0)
                outgoing = bytes;
            else if (sd_bus_message_skip(reply, "v") < 0)
                break;
            if (sd_bus_message_exit_container(reply) < 0) break;
        }
    }
    sd_bus_message_unref(reply);
    return outgoing;
}

}  // namespace

CallGuard::CallGuard(sdbus::IConnection& bus, ReplyBound bound)
    : bus_(rawBus(bus)),
      bound_(std::move(bound)),
      busDriver_(sdbus::createProxy(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus")) {
    if (int result = sd_bus_add_filter(bus_, &slot_, &CallGuard::filter, this); result < 0)
        throw sdbus::Error("org.freedesktop.DBus.Error.Failed",
                           fmt::format("cannot watch incoming calls: {}", strerror(-result)));
}

CallGuard::~CallGuard() {
    sd_bus_slot_unref(slot_);
}

int CallGuard::filter(sd_bus_message* message, void* self, sd_bus_error* error) {
    try {
        return static_cast<CallGuard*>(self)->check(message, error);
    } catch (const std::exception&) {
        // Nothing may be thrown into sd-bus; a call the guard cannot judge is served.
        return 0;
    }
}

int CallGuard::check(sd_bus_message* message, sd_bus_error* error) {
    std::uint8_t type = 0;
    if (sd_bus_message_get_type(message, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
    const std::optional<std::size_t> bound = bound_(readCallOf(message));
    if (!bound) return 0;
    if (*bound > kMaxReplyBytes)
        return sd_bus_error_setf(
            error, kLimitsExceeded,
            "the reply would take up to %.1f MiB, more than the %.0f MiB etmemd sends in one "
            "message; ask for each project on its own (Properties.GetAll on its object, as "
            "'etmem project show' does)",
            mebibytes(*bound), mebibytes(kMaxReplyBytes));

    const std::string sender = text(sd_bus_message_get_sender(message));
    auto known = unread_.find(sender);
    const uid_t uid = known != unread_.end() ? known->second.uid : uidOf(message);
    if (uid == 0) return admit(sender, uid, *bound);
    std::size_t own = unreadOf(uid);
    if (!fits(own, *bound) && known != unread_.end()) {
        // The count may be old: a caller that reads one reply before it asks again (as
        // `etmem project show` does) has read them all by now. The bus knows; one without
        // statistics cannot say, and the caller is then taken to have read.
        Unread& unread = known->second;
        unread.counted = outgoingBytesNow(bus_, sender).value_or(0);
        unread.sinceAsked = unread.whenAsked = 0;
        own = unreadOf(uid);
    }
    if (fits(own, *bound)) return admit(sender, uid, *bound);
    if (own > 0)
        return sd_bus_error_setf(
            error, kLimitsExceeded,
            "your connections have %.1f MiB of etmemd's replies not read yet; etmemd answers "
            "their large reads again once they have read them",
            mebibytes(own));
    return sd_bus_error_setf(error, kLimitsExceeded,
                             "callers have %.1f MiB of etmemd's replies not read yet; retry in "
                             "a moment",
                             mebibytes(totalUnread()));
}

int CallGuard::admit(const std::string& sender, uid_t uid, std::size_t bound) {
    Unread& unread = unread_[sender];
    unread.uid = uid;
    unread.sinceAsked += bound;
    if (bound >= kLargeReplyBytes) largeReplySent_ = true;
    return 0;
}

std::size_t CallGuard::unreadOf(uid_t uid) const {
    std::size_t bytes = 0;
    for (const auto& [sender, unread] : unread_)
        if (unread.uid == uid) bytes += unread.bytes();
    return bytes;
}

bool CallGuard::fits(std::size_t own, std::size_t bound) const {
    const std::size_t total = totalUnread();
    // A user who has read everything gets one read past the shared bound: users who read
    // are served while others hold it.
    if (own == 0) return total + bound <= kMaxUnreadBytes + kMaxReplyBytes;
    return own + bound <= kMaxUnreadBytesPerCaller && total + bound <= kMaxUnreadBytes;
}

std::size_t CallGuard::totalUnread() const {
    std::size_t total = 0;
    for (const auto& [sender, unread] : unread_) total += unread.bytes();
    return total;
}

void CallGuard::refreshUnread() {
    for (auto& [sender, unread] : unread_) {
        if (unread.asking) continue;
        unread.asking = true;
        unread.whenAsked = unread.sinceAsked;
        // Asked after the replies were sent, on the same connection: dbus-daemon has routed
        // them all by the time it answers.
        busDriver_->callMethodAsync("GetConnectionStats")
            .onInterface("org.freedesktop.DBus.Debug.Stats")
            .withArguments(sender)
            .uponReplyInvoke([this, sender](const sdbus::Error* error,
                                            std::map<std::string, sdbus::Variant> stats) {
                std::optional<std::size_t> outgoing;
                if (error == nullptr) {
                    auto bytes = stats.find("OutgoingBytes");
                    outgoing = bytes != stats.end() ? bytes->second.get<std::uint32_t>() : 0;
                } else if (error->getName() == "org.freedesktop.DBus.Error.NameHasNoOwner") {
                    outgoing = 0;  // gone: the bus dropped what it held for it
                }
                unreadCounted(sender, outgoing);
            });
    }
}

void CallGuard::unreadCounted(const std::string& sender, std::optional<std::size_t> outgoing) {
    auto it = unread_.find(sender);
    if (it == unread_.end()) return;
    Unread& unread = it->second;
    unread.asking = false;
    // A bus without statistics cannot say; the caller is then taken to have read.
    unread.counted = outgoing.value_or(0);
    unread.sinceAsked -= std::min(unread.whenAsked, unread.sinceAsked);
    unread.whenAsked = 0;
    if (unread.bytes() == 0) unread_.erase(it);
}

}  // namespace etmem::service
