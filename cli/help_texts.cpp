// SPDX-License-Identifier: MulanPSL-2.0
// User-visible help texts. Their wording is etmem 1.0's (openEuler etmem: etmem.c,
// etmem_migrate.c, and the project usage documented in its README), adapted only where this
// etmem behaves differently:
//  - -s is optional (without it the default etmemd instance is used), so the notes that
//    said the socket name "must be given" now say what happens without it;
//  - `project show` takes [options]: -n to show one project, --json for scripts;
//  - --no-ask-password, and a note on polkit's password prompt (as systemctl has).
//  - etmem 1.1's `obj` object and `project start|stop` (etmem 1.1's README, etmem_obj.c,
//    etmem_project.c) stand beside 1.0's `project add|del` and `migrate start|stop`.
#include "command_line.hpp"

namespace etmem::cli {
namespace {

constexpr std::string_view kMainHelp =
    "\n"
    "Usage:\n"
    "    etmem OBJECT COMMAND\n"
    "    etmem reload [options]\n"
    "    etmem help\n"
    "    etmem --version\n"
    "\n"
    "Parameters:\n"
    "    OBJECT  := { project | migrate | obj }\n"
    "    COMMAND := { add | del | start | stop | show | help }\n";

constexpr std::string_view kProjectHelp =
    "\n"
    "Usage:\n"
    "    etmem project add [options]\n"
    "    etmem project del [options]\n"
    "    etmem project start [options]\n"
    "    etmem project stop [options]\n"
    "    etmem project show [options]\n"
    "    etmem project help\n"
    "\n"
    "Options:\n"
    "    -f|--file <conf_file>     Add configuration file\n"
    "    -n|--name <proj_name>     Add project name\n"
    "    -s|--sock <sock_name>     Socket name to connect\n"
    "    --json                    Show projects as JSON\n"
    "    --no-ask-password         Do not ask for a password (polkit)\n"
    "    --format <openmetrics|prometheus>\n"
    "                              Show every project's and task's counters as\n"
    "                              metrics (prometheus: for node_exporter's textfile\n"
    "                              collector)\n"
    "\n"
    "Notes:\n"
    "    1. Project name must be given when execute add, del, start or stop option.\n"
    "    2. Configuration file must be given when execute add option.\n"
    "    3. Socket name selects the etmemd started with the same -s; without it the\n"
    "       default etmemd is used.\n"
    "    4. show prints every project, or only the one given with -n.\n"
    "    5. Changes need root or polkit's consent (action org.openeuler.etmem.manage).\n"
    "       On a terminal etmem lets polkit ask for a password (pkttyagent), as\n"
    "       systemctl does; --no-ask-password never asks.\n";

constexpr std::string_view kObjHelp =
    "\n"
    "Usage:\n"
    "    etmem obj add [options]\n"
    "    etmem obj del [options]\n"
    "    etmem obj help\n"
    "\n"
    "Options:\n"
    "    -f|--file <conf_file>     Add configuration file\n"
    "    -s|--socket <socket_name> Socket name to connect\n"
    "    --no-ask-password         Do not ask for a password (polkit)\n"
    "\n"
    "Notes:\n"
    "    1. Configuration file must be given.\n"
    "    2. The file is in etmem 1.1's form: [project], [engine] and [task] sections.\n"
    "       With a [project] it adds (del: removes) that project; without one, its\n"
    "       [engine] and [task] sections are added to (removed from) the project\n"
    "       their project= names.\n"
    "    3. Without a socket name the default etmemd is used.\n";

constexpr std::string_view kReloadHelp =
    "\n"
    "Usage:\n"
    "    etmem reload [options]\n"
    "    etmem reload help\n"
    "\n"
    "Options:\n"
    "    -s|--socket <socket_name> Socket name to connect\n"
    "    --no-ask-password         Do not ask for a password (polkit)\n"
    "\n"
    "Notes:\n"
    "    1. etmemd reads the project files again (projects.d in its configuration\n"
    "       directory, /etc/etmem by default), as 'systemctl reload etmemd' does: a new\n"
    "       file's project is added and started, a changed file's restarted, a removed\n"
    "       file's deleted; an unchanged file's project is left as it runs.\n"
    "    2. A file that is refused leaves its project as it was; etmem lists it with\n"
    "       its line and key and exits with status 1.\n"
    "    3. Needs root or polkit's consent (action org.openeuler.etmem.reload).\n";

constexpr std::string_view kMigrateHelp =
    "\n"
    "Usage:\n"
    "    etmem migrate start [options]\n"
    "    etmem migrate stop  [options]\n"
    "    etmem migrate help\n"
    "\n"
    "Options:\n"
    "    -n|--name <proj_name>     Add project name\n"
    "    -s|--socket <socket_name> Socket name to connect\n"
    "    --no-ask-password         Do not ask for a password (polkit)\n"
    "\n"
    "Notes:\n"
    "    Project name must be given when execute start or stop option.\n"
    "    Without a socket name the default etmemd is used.\n"
    "    Changes need root or polkit's consent; on a terminal polkit may ask for a\n"
    "    password unless --no-ask-password is given.\n";

}  // namespace

std::string_view helpText(HelpTopic topic) {
    switch (topic) {
        case HelpTopic::Project:
            return kProjectHelp;
        case HelpTopic::Migrate:
            return kMigrateHelp;
        case HelpTopic::Obj:
            return kObjHelp;
        case HelpTopic::Reload:
            return kReloadHelp;
        case HelpTopic::Main:
            break;
    }
    return kMainHelp;
}

}  // namespace etmem::cli
