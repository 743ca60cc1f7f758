// User-visible help texts. Their wording is etmem 1.0's (openEuler etmem: etmem.c,
// etmem_migrate.c, and the project usage documented in its README), adapted only where this
// etmem behaves differently:
//  - -s is optional (without it the default etmemd instance is used), so the notes that
//    said the socket name "must be given" now say what happens without it;
//  - `project show` takes [options]: -n to show one project, --json for scripts.
#include "command_line.hpp"

namespace etmem::cli {
namespace {

constexpr std::string_view kMainHelp =
    "\n"
    "Usage:\n"
    "    etmem OBJECT COMMAND\n"
    "    etmem help\n"
    "    etmem --version\n"
    "\n"
    "Parameters:\n"
    "    OBJECT  := { project | migrate }\n"
    "    COMMAND := { add | del | start | stop | show | help }\n";

constexpr std::string_view kProjectHelp =
    "\n"
    "Usage:\n"
    "    etmem project add [options]\n"
    "    etmem project del [options]\n"
    "    etmem project show [options]\n"
    "    etmem project help\n"
    "\n"
    "Options:\n"
    "    -f|--file <conf_file>     Add configuration file\n"
    "    -n|--name <proj_name>     Add project name\n"
    "    -s|--sock <sock_name>     Socket name to connect\n"
    "    --json                    Show projects as JSON\n"
    "    --format <openmetrics|prometheus>\n"
    "                              Show every project's and task's counters as\n"
    "                              metrics (prometheus: for node_exporter's textfile\n"
    "                              collector)\n"
    "\n"
    "Notes:\n"
    "    1. Project name must be given when execute add or del option.\n"
    "    2. Configuration file must be given when execute add option.\n"
    "    3. Socket name selects the etmemd started with the same -s; without it the\n"
    "       default etmemd is used.\n"
    "    4. show prints every project, or only the one given with -n.\n";

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
    "\n"
    "Notes:\n"
    "    Project name must be given when execute start or stop option.\n"
    "    Without a socket name the default etmemd is used.\n";

}  // namespace

std::string_view helpText(HelpTopic topic) {
    switch (topic) {
        case HelpTopic::Project:
            return kProjectHelp;
        case HelpTopic::Migrate:
            return kMigrateHelp;
        case HelpTopic::Main:
            break;
    }
    return kMainHelp;
}

}  // namespace etmem::cli
