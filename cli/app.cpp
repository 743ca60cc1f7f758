// SPDX-License-Identifier: MulanPSL-2.0
#include "app.hpp"

#include "command_line.hpp"
#include "config_file.hpp"
#include "metrics.hpp"
#include "render.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <ostream>

namespace etmem::cli {
namespace {

std::vector<ProjectInfo> collectProjects(DaemonClient& client, const std::string& onlyName) {
    if (onlyName.empty()) return client.allProjectDetails();
    std::vector<ProjectInfo> projects;
    bool found = false;
    for (const auto& entry : client.listProjects()) {
        if (!onlyName.empty() && entry.name != onlyName) continue;
        found = true;
        if (auto details = client.projectDetails(entry)) projects.push_back(std::move(*details));
    }
    if (!onlyName.empty() && (!found || projects.empty()))
        throw ClientError(fmt::format(
            "no project named '{}'; 'etmem project show' lists the projects", onlyName));
    return projects;
}

// Block characters only where the locale says the terminal takes UTF-8.
BarGlyphs barGlyphsForLocale() {
    auto env = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string_view(value ? value : "");
    };
    return localeIsUtf8(env("LC_ALL"), env("LC_CTYPE"), env("LANG")) ? BarGlyphs::Unicode
                                                                     : BarGlyphs::Ascii;
}

// One line per outcome that has names, then one per refused file; the exit status says
// whether every file is in force.
int printReload(const ReloadResult& result, std::ostream& out) {
    auto names = [&](std::string_view what, const std::vector<std::string>& list) {
        if (list.empty()) return;
        std::string joined;
        for (const auto& name : list) joined += (joined.empty() ? "" : " ") + name;
        out << what << ": " << joined << '\n';
    };
    names("added", result.added);
    names("changed", result.changed);
    names("removed", result.removed);
    names("unchanged", result.unchanged);
    // The message starts with the line, column and key where the reader knew them.
    for (const auto& failure : result.failed)
        out << "refused: " << failure.file << ": " << failure.message << '\n';
    out << fmt::format("{} added, {} changed, {} removed, {} unchanged, {} refused\n",
                       result.added.size(), result.changed.size(), result.removed.size(),
                       result.unchanged.size(), result.failed.size());
    return result.failed.empty() ? kExitSuccess : kExitFailure;
}

int execute(const Command& command, const ClientFactory& connect, std::ostream& out) {
    // Read the file before connecting: a wrong path must not depend on a running daemon.
    std::string configText;
    if (command.action == Action::ProjectAdd || command.action == Action::ObjAdd ||
        command.action == Action::ObjDel)
        configText = readConfigFile(command.configPath);
    std::unique_ptr<DaemonClient> client = connect(command.instance);
    client->allowPasswordPrompt(command.askPassword);
    switch (command.action) {
        case Action::ProjectAdd:
            client->addProject(command.projectName, configText);
            break;
        case Action::ProjectDel:
            client->removeProject(command.projectName);
            break;
        case Action::MigrateStart:
        case Action::ProjectStart:
            client->startProject(command.projectName);
            break;
        case Action::MigrateStop:
        case Action::ProjectStop:
            client->stopProject(command.projectName);
            break;
        case Action::ObjAdd:
            client->addObjects(configText);
            break;
        case Action::ObjDel:
            client->removeObjects(configText);
            break;
        case Action::Reload:
            return printReload(client->reload(), out);
        case Action::ProjectShow: {
            auto projects = collectProjects(*client, command.projectName);
            MetricsFormat metrics{};
            if (!command.format.empty() && parseMetricsFormat(command.format, metrics))
                out << renderMetrics(projects, metrics);
            else
                out << (command.json ? renderJson(projects)
                                     : renderTable(projects, barGlyphsForLocale()));
            break;
        }
        case Action::Help:
        case Action::Version:
        case Action::ProjectHelp:
        case Action::MigrateHelp:
        case Action::ObjHelp:
        case Action::ReloadHelp:
            break;  // answered before connecting
    }
    return kExitSuccess;
}

}  // namespace

int runEtmem(const std::vector<std::string>& args, const ClientFactory& connect, std::ostream& out,
             std::ostream& err) {
    Command command;
    try {
        command = parseCommandLine(args);
    } catch (const UsageError& usage) {
        if (usage.showHelp())
            err << helpText(usage.topic());
        else
            err << usage.what() << '\n';
        return kExitUsage;
    }
    switch (command.action) {
        case Action::Help:
            out << helpText(HelpTopic::Main);
            return kExitSuccess;
        case Action::Version:
            out << "etmem " << ETMEM_VERSION << '\n';
            return kExitSuccess;
        case Action::ProjectHelp:
            out << helpText(HelpTopic::Project);
            return kExitSuccess;
        case Action::MigrateHelp:
            out << helpText(HelpTopic::Migrate);
            return kExitSuccess;
        case Action::ObjHelp:
            out << helpText(HelpTopic::Obj);
            return kExitSuccess;
        case Action::ReloadHelp:
            out << helpText(HelpTopic::Reload);
            return kExitSuccess;
        default:
            break;
    }
    int status = kExitSuccess;
    try {
        status = execute(command, connect, out);
    } catch (const ConfigFileError& error) {
        err << "etmem: " << error.what() << '\n';
        return kExitFailure;
    } catch (const ClientError& error) {
        err << "etmem: " << error.what() << '\n';
        return kExitFailure;
    }
    out.flush();
    return status;
}

}  // namespace etmem::cli
