// SPDX-License-Identifier: MulanPSL-2.0
// Looks at every method call before sd-bus dispatches it and refuses, at once and with
// org.freedesktop.DBus.Error.LimitsExceeded, the reads that would hurt etmemd or its other
// callers:
//  - a reply larger than the bus carries (dbus-daemon drops a connection that sends one,
//    which would end etmemd): refused when its bound passes kMaxReplyBytes;
//  - a caller that does not read its replies: dbus-daemon keeps them, charged to etmemd,
//    and stops reading etmemd altogether past its limit, so every caller would wait and
//    etmemd's own queue would grow. Each caller's unread replies (as dbus-daemon counts
//    them: Debug.Stats.GetConnectionStats, OutgoingBytes) are kept under
//    kMaxUnreadBytesPerCaller per user (however many connections it opens) and everyone's
//    under kMaxUnreadBytes. Root is served regardless: it reads, and the operator must be
//    able to look while someone floods etmemd.
// Cheap calls (a property such as Version, a change, whose reply is small) always pass.
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace sdbus {
class IConnection;
class IProxy;
}  // namespace sdbus

namespace etmem::service {

// A method call as the guard sees it.
struct ReadCall {
    std::string path;
    std::string interface;
    std::string member;
    std::string property;  // for Properties.Get, the property asked for
};

class CallGuard {
  public:
    // At most how many bytes the reply to a call carries; nullopt for a call whose reply is
    // small whatever etmemd holds.
    using ReplyBound = std::function<std::optional<std::size_t>(const ReadCall&)>;

    CallGuard(sdbus::IConnection& bus, ReplyBound bound);
    ~CallGuard();
    CallGuard(const CallGuard&) = delete;
    CallGuard& operator=(const CallGuard&) = delete;

    // Asks the bus how much of their replies the callers with some outstanding have read;
    // the answers arrive on the loop. Call it every fraction of a second.
    void refreshUnread();
    // Whether a large reply was sent since the last call: its memory may be given back.
    bool takeLargeReplySent() { return std::exchange(largeReplySent_, false); }

  private:
    struct Unread {
        uid_t uid = 0;               // as the bus recorded it
        std::size_t counted = 0;     // OutgoingBytes at the bus's last answer
        std::size_t sinceAsked = 0;  // bounds of the replies admitted since then
        std::size_t whenAsked = 0;   // sinceAsked when the question went out
        bool asking = false;
        std::size_t bytes() const { return counted + sinceAsked; }
    };

    static int filter(sd_bus_message* message, void* self, sd_bus_error* error);
    int check(sd_bus_message* message, sd_bus_error* error);
    // Whether a reply of `bound` bytes may go to a caller with `own` bytes unread.
    bool fits(std::size_t own, std::size_t bound) const;
    std::size_t totalUnread() const;
    std::size_t unreadOf(uid_t uid) const;
    // Counts a reply of at most `bound` bytes about to go to `sender`; 0 (serve it).
    int admit(const std::string& sender, uid_t uid, std::size_t bound);
    void unreadCounted(const std::string& sender, std::optional<std::size_t> outgoing);

    sd_bus* bus_;
    sd_bus_slot* slot_ = nullptr;
    ReplyBound bound_;
    std::unique_ptr<sdbus::IProxy> busDriver_;
    std::map<std::string, Unread> unread_;
    bool largeReplySent_ = false;
};

}  // namespace etmem::service
