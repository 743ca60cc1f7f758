// SPDX-License-Identifier: MulanPSL-2.0
// Sizes both sides enforce, so the CLI refuses early exactly what the daemon would refuse.
#pragma once

#include <cstddef>

namespace etmem {

// A config larger than this is refused before it is parsed (an etmem config is a few lines).
inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

// The largest reply etmemd sends. dbus-daemon's system bus drops a connection that sends a
// message over 32 MiB (max_message_size), so a listing that would be larger is refused and
// the client asks per project instead; the margin covers what the bound leaves out.
inline constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;

// Replies etmemd has sent to one caller that the caller has not read yet (dbus-daemon keeps
// them for it). dbus-daemon stops reading etmemd once 127 MiB of its messages wait
// undelivered (max_incoming_bytes), which would stall every other caller: a caller past its
// share is refused expensive reads until it reads, and all callers together stay well below.
inline constexpr std::size_t kMaxUnreadBytesPerCaller = 8 * 1024 * 1024;
inline constexpr std::size_t kMaxUnreadBytes = 48 * 1024 * 1024;

// polkit checks pending for one caller (per uid, and per connection before the uid is
// known) and for everyone. dbus-daemon lets etmemd wait for at most 128 replies at once
// (max_replies_per_connection): the total stays below it, with room for the bus's own
// answers, and no one caller can take more than a small share; a quarter of the places is
// kept for users with no check pending.
inline constexpr std::size_t kMaxPendingChecksPerCaller = 8;
inline constexpr std::size_t kMaxPendingChecks = 64;
// The arguments held meanwhile (a config is up to 1 MiB).
inline constexpr std::size_t kMaxPendingArgumentBytesPerCaller = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxPendingArgumentBytes = 32 * 1024 * 1024;

}  // namespace etmem
