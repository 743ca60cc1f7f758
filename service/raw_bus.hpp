// SPDX-License-Identifier: MulanPSL-2.0
// The sd-bus objects inside sdbus-c++ 1.2's, for what it has no call for (message flags,
// filters, the write queue).
#pragma once

#include <systemd/sd-bus.h>

#include <sdbus-c++/Message.h>

namespace sdbus {
class IConnection;
}

namespace etmem::service {

// sdbus-c++ 1.2 keeps the message in a protected member; a pointer to that member, formed
// through a derived class, reaches it without casting away anything.
struct RawMessageAccess : sdbus::Message {
    static sd_bus_message* raw(const sdbus::Message& message) {
        constexpr auto member = &RawMessageAccess::msg_;
        return static_cast<sd_bus_message*>(message.*member);
    }
};

// The sd_bus of `connection` (1.2 does not expose it: it is the bus of any message made on
// the connection). Owned by the connection; valid as long as it lives.
sd_bus* rawBus(sdbus::IConnection& connection);

}  // namespace etmem::service
