// SPDX-License-Identifier: MulanPSL-2.0
#include "systemd_units.hpp"

#include <fmt/format.h>
#include <systemd/sd-bus.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace etmem::service {
namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr std::uint64_t kCallTimeoutUsec = 5'000'000;

struct BusDeleter {
    void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct MessageDeleter {
    void operator()(sd_bus_message* message) const { sd_bus_message_unref(message); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageDeleter>;

// sd_bus_error with RAII.
struct BusError {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&error); }
    std::string text(int r) const { return error.message ? error.message : std::strerror(-r); }
};

// The unit type's interface, which carries ControlGroup.
std::string interfaceOf(const std::string& unit) {
    if (unit.ends_with(".service")) return "org.freedesktop.systemd1.Service";
    if (unit.ends_with(".scope")) return "org.freedesktop.systemd1.Scope";
    return "org.freedesktop.systemd1.Slice";
}

std::string stringProperty(sd_bus* bus, const char* path, const char* interface,
                           const char* property) {
    BusError error;
    char* value = nullptr;
    int r =
        sd_bus_get_property_string(bus, kSystemd, path, interface, property, &error.error, &value);
    if (r < 0)
        throw std::runtime_error(
            fmt::format("cannot read {} from systemd: {}", property, error.text(r)));
    std::string text(value);
    std::free(value);
    return text;
}

class SystemdUnitLookup final : public UnitCgroupLookup {
  public:
    UnitCgroup cgroupOf(const std::string& unit) override {
        sd_bus* raw = nullptr;
        int r = sd_bus_open_system(&raw);
        BusPtr bus(raw);
        if (r < 0)
            throw std::runtime_error(
                fmt::format("cannot reach systemd on the system bus: {}", std::strerror(-r)));
        sd_bus_set_method_call_timeout(bus.get(), kCallTimeoutUsec);

        BusError error;
        sd_bus_message* reply = nullptr;
        r = sd_bus_call_method(bus.get(), kSystemd, "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &error.error, &reply,
                               "s", unit.c_str());
        MessagePtr owned(reply);
        if (r < 0) {
            // Not loaded: systemd forgets a unit that stopped and nothing refers to.
            if (sd_bus_error_has_name(&error.error, "org.freedesktop.systemd1.NoSuchUnit"))
                return {"", "not loaded"};
            throw std::runtime_error(
                fmt::format("cannot ask systemd for unit {}: {}", unit, error.text(r)));
        }
        const char* path = nullptr;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
            throw std::runtime_error(
                fmt::format("systemd's GetUnit reply is unreadable: {}", std::strerror(-r)));
        std::string objectPath(path);
        std::string cgroup = stringProperty(bus.get(), objectPath.c_str(),
                                            interfaceOf(unit).c_str(), "ControlGroup");
        if (!cgroup.empty()) return {cgroup, ""};
        std::string active = stringProperty(bus.get(), objectPath.c_str(),
                                            "org.freedesktop.systemd1.Unit", "ActiveState");
        return {"", active == "active" ? "active but without a cgroup" : active};
    }
};

}  // namespace

std::shared_ptr<UnitCgroupLookup> makeSystemdUnitLookup() {
    return std::make_shared<SystemdUnitLookup>();
}

}  // namespace etmem::service
