// SPDX-License-Identifier: MulanPSL-2.0
#include "bus_errors.hpp"

#include "etmem/contract/error_names.hpp"

#include <fmt/format.h>

namespace etmem::cli {
namespace {

constexpr std::string_view kFreedesktopError = "org.freedesktop.DBus.Error.";

bool isOneOf(std::string_view name, std::initializer_list<std::string_view> suffixes) {
    if (!name.starts_with(kFreedesktopError)) return false;
    name.remove_prefix(kFreedesktopError.size());
    for (auto suffix : suffixes) {
        if (name == suffix) return true;
    }
    return false;
}

std::string howToStart(std::string_view instance) {
    if (instance.empty()) return "start it with 'systemctl start etmemd' (or run 'etmemd' as root)";
    return fmt::format("start it with 'etmemd -s {}' as root", instance);
}

std::string daemonLabel(std::string_view busName, std::string_view instance) {
    if (instance.empty()) return std::string(busName);
    return fmt::format("{} (instance '{}')", busName, instance);
}

// Used only when etmemd sent one of its errors without a message.
std::string fallbackFor(std::string_view errorName) {
    using bus::ErrorKind;
    switch (bus::errorKindOf(errorName).value_or(ErrorKind::Failed)) {
        case ErrorKind::ProjectExists:
            return "a project with that name already exists";
        case ErrorKind::NoSuchProject:
            return "there is no project with that name; see 'etmem project show'";
        case ErrorKind::AlreadyRunning:
            return "the project is already running";
        case ErrorKind::NotRunning:
            return "the project is not running";
        case ErrorKind::InvalidConfig:
            return "the config was refused";
        case ErrorKind::AccessDenied:
            return "not allowed; run etmem as root or ask an administrator";
        case ErrorKind::InvalidArgument:
            return "an argument was refused";
        case ErrorKind::Failed:
            break;
    }
    return fmt::format("etmemd failed ({})", errorName.substr(bus::kErrorPrefix.size()));
}

}  // namespace

std::string describeBusError(std::string_view errorName, std::string_view message,
                             std::string_view busName, std::string_view instance) {
    if (errorName.starts_with(bus::kErrorPrefix)) {
        // etmemd's own errors carry a message meant for the user: pass it through.
        if (!message.empty()) return std::string(message);
        return fallbackFor(errorName);
    }
    std::string daemon = daemonLabel(busName, instance);
    if (isOneOf(errorName, {"ServiceUnknown", "NameHasNoOwner"}))
        return fmt::format("no etmemd is running on the system bus as {}; {}", daemon,
                           howToStart(instance));
    if (isOneOf(errorName, {"NoReply", "Timeout", "TimedOut", "Disconnected"}))
        return fmt::format(
            "etmemd ({}) did not answer: {}; check its log with 'journalctl -u "
            "etmemd'",
            daemon, message);
    if (isOneOf(errorName, {"AccessDenied", "InteractiveAuthorizationRequired"}))
        return fmt::format(
            "not allowed to call etmemd ({}): {}; run etmem as root or ask an "
            "administrator",
            daemon, message);
    if (isOneOf(errorName, {"UnknownMethod", "UnknownObject", "UnknownInterface", "UnknownProperty",
                            "InvalidArgs"}))
        return fmt::format(
            "{} does not offer what this etmem expects ({}); is etmemd the same "
            "version as etmem?",
            daemon, message);
    return fmt::format("calling etmemd ({}) failed: {}: {}", daemon, errorName, message);
}

std::string describeConnectFailure(std::string_view message, std::string_view busName) {
    return fmt::format(
        "cannot connect to the system bus to reach etmemd ({}): {}; check that dbus is "
        "running (or DBUS_SYSTEM_BUS_ADDRESS)",
        busName, message);
}

}  // namespace etmem::cli
