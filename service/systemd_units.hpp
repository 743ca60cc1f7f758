// SPDX-License-Identifier: MulanPSL-2.0
// The unit -> cgroup lookup the engine's resolver asks for `type: unit` tasks, answered by
// systemd on the system bus (GetUnit, then the unit's ControlGroup).
#pragma once

#include <memory>

#include "etmem/process.hpp"

namespace etmem::service {

// Each call opens its own connection to the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured),
// so task workers may ask concurrently and a slow systemd only delays that task's cycle
// (bounded by a call timeout), never the daemon's loop.
std::shared_ptr<UnitCgroupLookup> makeSystemdUnitLookup();

}  // namespace etmem::service
