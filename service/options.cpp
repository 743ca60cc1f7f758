// SPDX-License-Identifier: MulanPSL-2.0
#include "options.hpp"

#include <fmt/format.h>

#include <charconv>

#include "etmem/contract/bus_names.hpp"
#include "state_store.hpp"

namespace etmem::service {
namespace {

ParsedOptions usageError(const std::string& problem) {
    return {std::nullopt, 2, fmt::format("etmemd: {}\n{}", problem, daemonUsage())};
}

std::optional<LogLevel> parseLogLevel(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 3) return std::nullopt;
    return static_cast<LogLevel>(value);
}

// "--opt=value", "--opt value", "-ovalue" or "-o value": the value and how many arguments
// it took, or nothing when the value is missing.
std::optional<std::string> takeValue(const std::vector<std::string>& args, std::size_t& i,
                                     std::string_view inlineValue, bool hasInline) {
    if (hasInline) return std::string(inlineValue);
    if (i + 1 >= args.size()) return std::nullopt;
    return args[++i];
}

}  // namespace

std::string systemdEscape(std::string_view text) {
    std::string escaped;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c == '/')
            escaped += '-';
        else if (alnum || c == ':' || c == '_' || (c == '.' && i > 0))
            escaped += c;
        else
            escaped += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    }
    return escaped;
}

std::filesystem::path stateDirectoryFor(std::string_view instance, const char* stateDirectoryEnv) {
    if (stateDirectoryEnv != nullptr && *stateDirectoryEnv != '\0') {
        std::string_view list(stateDirectoryEnv);
        return std::filesystem::path(std::string(list.substr(0, list.find(':'))));
    }
    const std::filesystem::path base = "/var/lib";
    if (instance.empty()) return base / "etmem";
    // A file name has at most 255 bytes; a name that long is no unit's instance anyway.
    constexpr std::size_t kMaxEscaped = 255 - std::string_view("etmem@").size();
    std::string escaped = systemdEscape(instance);
    if (escaped.size() > kMaxEscaped) escaped = StateStore::encodeFileName(instance, kMaxEscaped);
    return base / ("etmem@" + escaped);
}

std::string daemonUsage() {
    return "Usage: etmemd [-l <log-level>] [-s <socket name>] [-m]\n"
           "\n"
           "options:\n"
           "-l|--log-level <log-level>  Log level: 0 debug, 1 info (default), 2 warning, 3 error\n"
           "-s|--socket <socket name>   Socket name to listen to: selects the instance\n"
           "                            (at most 107 bytes; default: the main instance)\n"
           "-m|--mode-systemctl         Accepted for etmem 1.1's units; etmemd always runs\n"
           "                            in the foreground and tells systemd when it is ready\n"
           "-h|--help                   Show this message\n"
           "-V|--version                Show the version\n";
}

ParsedOptions parseDaemonOptions(const std::vector<std::string>& args) {
    DaemonOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        std::string_view name = arg, inlineValue;
        bool hasInline = false;
        if (arg.starts_with("--")) {
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                name = arg.substr(0, eq);
                inlineValue = arg.substr(eq + 1);
                hasInline = true;
            }
        } else if (arg.size() > 2 && arg[0] == '-') {
            name = arg.substr(0, 2);
            inlineValue = arg.substr(2);
            hasInline = true;
        }
        if (name == "-h" || name == "--help") {
            if (hasInline) return usageError(fmt::format("option '{}' takes no value", name));
            return {std::nullopt, 0, daemonUsage()};
        }
        if (name == "-m" || name == "--mode-systemctl") {  // etmem 1.1: nothing to change
            if (hasInline) return usageError(fmt::format("option '{}' takes no value", name));
            continue;
        }
        if (name == "-V" || name == "--version") {
            if (hasInline) return usageError(fmt::format("option '{}' takes no value", name));
            return {std::nullopt, 0, fmt::format("etmemd {}\n", ETMEM_VERSION)};
        }
        if (name == "-l" || name == "--log-level") {
            auto value = takeValue(args, i, inlineValue, hasInline);
            if (!value) return usageError(fmt::format("option '{}' needs a value (0..3)", name));
            auto level = parseLogLevel(*value);
            if (!level)
                return usageError(
                    fmt::format("log level '{}' is invalid; allowed 0, 1, 2 or 3", *value));
            options.logLevel = *level;
        } else if (name == "-s" || name == "--socket") {
            auto value = takeValue(args, i, inlineValue, hasInline);
            if (!value) return usageError(fmt::format("option '{}' needs a name", name));
            if (auto problem = bus::checkInstanceName(*value); !problem.empty())
                return usageError(fmt::format("socket name is invalid: {}", problem));
            options.instance = *value;
        } else if (arg.starts_with("-")) {
            return usageError(fmt::format("unknown option '{}'", arg));
        } else {
            return usageError(fmt::format("unexpected argument '{}'", arg));
        }
    }
    return {options, 0, {}};
}

}  // namespace etmem::service
