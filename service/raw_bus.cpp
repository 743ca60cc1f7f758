// SPDX-License-Identifier: MulanPSL-2.0
#include "raw_bus.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace etmem::service {

sd_bus* rawBus(sdbus::IConnection& connection) {
    auto proxy = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    auto message = proxy->createMethodCall("org.freedesktop.DBus.Peer", "Ping");
    return sd_bus_message_get_bus(RawMessageAccess::raw(message));
}

}  // namespace etmem::service
