// SPDX-License-Identifier: MulanPSL-2.0
#include "command_line.hpp"

#include "etmem/contract/bus_names.hpp"
#include "metrics.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <span>

namespace etmem::cli {
namespace {

enum Option : unsigned {
    kName = 1u << 0,
    kFile = 1u << 1,
    kSocket = 1u << 2,
    kJson = 1u << 3,
    kNoAskPassword = 1u << 4,
    kFormat = 1u << 5,
};

struct OptionSpec {
    Option option;
    char shortName;  // '\0': long form only
    std::array<std::string_view, 2> longNames;
    bool takesValue;
    std::string_view display;  // how usage messages name it
};

constexpr std::array<OptionSpec, 6> kOptions = {{
    {kName, 'n', {"name", ""}, true, "-n|--name <proj_name>"},
    {kFile, 'f', {"file", ""}, true, "-f|--file <conf_file>"},
    // etmem 1.0 documented --sock and implemented --socket: both are accepted.
    {kSocket, 's', {"socket", "sock"}, true, "-s|--socket <socket_name>"},
    {kJson, '\0', {"json", ""}, false, "--json"},
    // As systemctl's: never let polkit ask for a password, even on a terminal.
    {kNoAskPassword, '\0', {"no-ask-password", ""}, false, "--no-ask-password"},
    {kFormat, '\0', {"format", ""}, true, "--format <openmetrics|prometheus>"},
}};

struct CommandSpec {
    std::string_view object;
    std::string_view command;
    Action action;
    unsigned allowed;
    unsigned required;
};

constexpr std::array<CommandSpec, 15> kCommands = {{
    {"project", "add", Action::ProjectAdd, kName | kFile | kSocket | kNoAskPassword, kName | kFile},
    {"project", "del", Action::ProjectDel, kName | kSocket | kNoAskPassword, kName},
    {"project", "show", Action::ProjectShow, kName | kSocket | kJson | kFormat | kNoAskPassword, 0},
    {"project", "help", Action::ProjectHelp, 0, 0},
    {"migrate", "start", Action::MigrateStart, kName | kSocket | kNoAskPassword, kName},
    {"migrate", "stop", Action::MigrateStop, kName | kSocket | kNoAskPassword, kName},
    {"migrate", "help", Action::MigrateHelp, 0, 0},
    // etmem 1.1's forms: a 1.1 file names its project, so obj takes no -n.
    {"obj", "add", Action::ObjAdd, kFile | kSocket | kNoAskPassword, kFile},
    {"obj", "del", Action::ObjDel, kFile | kSocket | kNoAskPassword, kFile},
    {"obj", "help", Action::ObjHelp, 0, 0},
    {"project", "start", Action::ProjectStart, kName | kSocket | kNoAskPassword, kName},
    {"project", "stop", Action::ProjectStop, kName | kSocket | kNoAskPassword, kName},
    // `etmem reload` has no command word: its "" row; `etmem reload help` shows its help.
    {"reload", "", Action::Reload, kSocket | kNoAskPassword, 0},
    {"reload", "help", Action::ReloadHelp, 0, 0},
    // `etmem help` is handled before the object lookup.
    {"", "help", Action::Help, 0, 0},
}};

std::string_view hintFor(HelpTopic topic) {
    switch (topic) {
        case HelpTopic::Project:
            return "see 'etmem project help'";
        case HelpTopic::Migrate:
            return "see 'etmem migrate help'";
        case HelpTopic::Obj:
            return "see 'etmem obj help'";
        case HelpTopic::Reload:
            return "see 'etmem reload help'";
        case HelpTopic::Main:
            break;
    }
    return "see 'etmem help'";
}

[[noreturn]] void usageError(HelpTopic topic, std::string_view problem) {
    throw UsageError(fmt::format("etmem: {}; {}", problem, hintFor(topic)), topic);
}

bool isHelpWord(std::string_view word) {
    return word == "help" || word == "-h" || word == "--help";
}

const OptionSpec* findShort(char letter) {
    for (const auto& spec : kOptions) {
        if (spec.shortName != '\0' && spec.shortName == letter) return &spec;
    }
    return nullptr;
}

const OptionSpec* findLong(std::string_view name) {
    for (const auto& spec : kOptions) {
        for (auto longName : spec.longNames) {
            if (!longName.empty() && longName == name) return &spec;
        }
    }
    return nullptr;
}

class OptionParser {
  public:
    OptionParser(const CommandSpec& spec, HelpTopic topic, Command& command)
        : spec_(spec), topic_(topic), command_(command) {}

    void parse(std::span<const std::string> args) {
        bool optionsEnded = false;
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& arg = args[i];
            if (optionsEnded || arg.size() < 2 || arg[0] != '-') {
                usageError(topic_, fmt::format("unexpected argument '{}' for '{}'", arg, name()));
            }
            if (arg == "--") {
                optionsEnded = true;
            } else if (arg.starts_with("--")) {
                i = parseLong(args, i);
            } else {
                i = parseShort(args, i);
            }
        }
        checkRequired();
    }

  private:
    std::string name() const {
        if (spec_.command.empty()) return std::string(spec_.object);
        return fmt::format("{} {}", spec_.object, spec_.command);
    }

    // --name VALUE or --name=VALUE; returns the index of the last argument consumed.
    std::size_t parseLong(std::span<const std::string> args, std::size_t i) {
        std::string_view body = std::string_view(args[i]).substr(2);
        std::optional<std::string_view> inlineValue;
        if (auto eq = body.find('='); eq != std::string_view::npos) {
            inlineValue = body.substr(eq + 1);
            body = body.substr(0, eq);
        }
        const OptionSpec* spec = findLong(body);
        if (spec == nullptr) usageError(topic_, fmt::format("unknown option '--{}'", body));
        if (!spec->takesValue) {
            if (inlineValue) usageError(topic_, fmt::format("option '--{}' takes no value", body));
            accept(*spec, {});
            return i;
        }
        if (inlineValue) {
            accept(*spec, *inlineValue);
            return i;
        }
        if (i + 1 >= args.size()) missingValue(*spec);
        accept(*spec, args[i + 1]);
        return i + 1;
    }

    // -n VALUE or -nVALUE (as getopt allows).
    std::size_t parseShort(std::span<const std::string> args, std::size_t i) {
        const std::string& arg = args[i];
        const OptionSpec* spec = findShort(arg[1]);
        if (spec == nullptr) usageError(topic_, fmt::format("unknown option '-{}'", arg[1]));
        if (arg.size() > 2) {
            accept(*spec, std::string_view(arg).substr(2));
            return i;
        }
        if (i + 1 >= args.size()) missingValue(*spec);
        accept(*spec, args[i + 1]);
        return i + 1;
    }

    [[noreturn]] void missingValue(const OptionSpec& spec) {
        usageError(topic_, fmt::format("option {} needs a value", spec.display));
    }

    void accept(const OptionSpec& spec, std::string_view value) {
        if ((spec_.allowed & spec.option) == 0)
            usageError(topic_,
                       fmt::format("option {} is not valid for '{}'", spec.display, name()));
        if ((seen_ & spec.option) != 0)
            usageError(topic_, fmt::format("option {} is given twice", spec.display));
        seen_ |= spec.option;
        switch (spec.option) {
            case kName: {
                std::string problem = bus::checkProjectName(value);
                if (!problem.empty()) usageError(topic_, fmt::format("bad -n|--name: {}", problem));
                command_.projectName = value;
                break;
            }
            case kFile:
                if (value.empty()) usageError(topic_, "option -f|--file needs a file path");
                command_.configPath = value;
                break;
            case kSocket: {
                std::string problem = bus::checkInstanceName(value);
                if (!problem.empty())
                    usageError(topic_, fmt::format("bad -s|--socket: {}", problem));
                command_.instance = value;
                break;
            }
            case kJson:
                command_.json = true;
                break;
            case kNoAskPassword:
                command_.askPassword = false;
                break;
            case kFormat: {
                MetricsFormat format{};
                if (!parseMetricsFormat(value, format))
                    usageError(topic_, fmt::format("bad --format '{}'; allowed openmetrics or "
                                                   "prometheus",
                                                   value));
                command_.format = value;
                break;
            }
        }
    }

    void checkRequired() const {
        if ((seen_ & kJson) != 0 && (seen_ & kFormat) != 0)
            usageError(topic_, "--json and --format exclude each other");
        for (const auto& spec : kOptions) {
            if ((spec_.required & spec.option) != 0 && (seen_ & spec.option) == 0)
                usageError(topic_, fmt::format("'{}' needs {}", name(), spec.display));
        }
    }

    const CommandSpec& spec_;
    HelpTopic topic_;
    Command& command_;
    unsigned seen_ = 0;
};

}  // namespace

Command parseCommandLine(const std::vector<std::string>& args) {
    if (args.empty()) throw UsageError("", HelpTopic::Main, true);
    const std::string& object = args[0];
    if (isHelpWord(object)) {
        if (args.size() > 1)
            usageError(HelpTopic::Main,
                       fmt::format("unexpected argument '{}' after 'help'", args[1]));
        return Command{};
    }
    if (object == "--version" || object == "-V") {
        if (args.size() > 1)
            usageError(HelpTopic::Main,
                       fmt::format("unexpected argument '{}' after '{}'", args[1], object));
        Command command;
        command.action = Action::Version;
        return command;
    }
    HelpTopic topic = HelpTopic::Main;
    if (object == "project") {
        topic = HelpTopic::Project;
    } else if (object == "migrate") {
        topic = HelpTopic::Migrate;
    } else if (object == "obj") {
        topic = HelpTopic::Obj;
    } else if (object == "reload") {
        topic = HelpTopic::Reload;
        // No command word: what follows are options (or "help").
        const bool help = args.size() > 1 && isHelpWord(args[1]);
        for (const auto& spec : kCommands) {
            if (spec.object != object || spec.command != (help ? "help" : "")) continue;
            Command command;
            command.action = spec.action;
            OptionParser(spec, topic, command).parse(std::span(args).subspan(help ? 2 : 1));
            return command;
        }
    } else {
        usageError(HelpTopic::Main, fmt::format("unknown object '{}'", object));
    }
    // etmem 1.0 printed the object's help when its command was missing.
    if (args.size() < 2) throw UsageError("", topic, true);
    std::string_view commandWord = isHelpWord(args[1]) ? "help" : std::string_view(args[1]);
    for (const auto& spec : kCommands) {
        if (spec.object != object || spec.command != commandWord) continue;
        Command command;
        command.action = spec.action;
        OptionParser(spec, topic, command).parse(std::span(args).subspan(2));
        return command;
    }
    usageError(topic, fmt::format("unknown command '{} {}'", object, args[1]));
}

}  // namespace etmem::cli
