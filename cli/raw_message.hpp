// SPDX-License-Identifier: MulanPSL-2.0
// The sd_bus_message* inside an sdbus::Message, for what sdbus-c++ 1.2 has no call for.
#pragma once

#include <sdbus-c++/Message.h>
#include <systemd/sd-bus.h>

namespace etmem::cli {

// sdbus-c++ 1.2 keeps the message in a protected member; a pointer to that member, formed
// through a derived class, reaches it without casting away anything.
struct RawMessageAccess : sdbus::Message {
    static sd_bus_message* raw(sdbus::Message& message) {
        constexpr auto member = &RawMessageAccess::msg_;
        return static_cast<sd_bus_message*>(message.*member);
    }
};

}  // namespace etmem::cli
