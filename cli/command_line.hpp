// SPDX-License-Identifier: MulanPSL-2.0
// `etmem` command line: the objects, commands and options of etmem 1.0 and of etmem 1.1
// (obj add|del, project start|stop), parsed into a Command without touching the bus.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace etmem::cli {

enum class Action {
    Help,         // etmem help
    Version,      // etmem --version
    ProjectHelp,  // etmem project help
    MigrateHelp,  // etmem migrate help
    ProjectAdd,
    ProjectDel,
    ProjectShow,
    MigrateStart,
    MigrateStop,
    // etmem 1.1's forms
    ObjHelp,       // etmem obj help
    ObjAdd,        // etmem obj add -f FILE
    ObjDel,        // etmem obj del -f FILE
    ProjectStart,  // etmem project start -n NAME (1.0: migrate start)
    ProjectStop,   // etmem project stop -n NAME (1.0: migrate stop)
    Reload,        // etmem reload: the project files again
    ReloadHelp,    // etmem reload help
};

struct Command {
    Action action = Action::Help;
    std::string projectName;  // -n|--name ("" when not given)
    std::string configPath;   // -f|--file
    std::string instance;     // -s|--sock|--socket ("" = the default etmemd)
    bool json = false;        // --json (project show)
    bool askPassword = true;  // false with --no-ask-password
    std::string format;       // --format=openmetrics|prometheus (project show); "" = table
};

enum class HelpTopic { Main, Project, Migrate, Obj, Reload };

// The usage texts of etmem 1.0 and 1.1, adapted where this etmem differs (see help_texts.cpp).
std::string_view helpText(HelpTopic topic);

// A command line that cannot be run as given. Either a one-line message that ends with a
// hint ("see 'etmem project help'"), or, when the user gave no command at all, the whole
// help text of the topic (as etmem 1.0 printed it).
class UsageError : public std::runtime_error {
  public:
    UsageError(const std::string& message, HelpTopic topic, bool showHelp = false)
        : std::runtime_error(message), topic_(topic), showHelp_(showHelp) {}
    HelpTopic topic() const { return topic_; }
    bool showHelp() const { return showHelp_; }

  private:
    HelpTopic topic_;
    bool showHelp_;
};

// args: the arguments after the program name. Throws UsageError.
Command parseCommandLine(const std::vector<std::string>& args);

}  // namespace etmem::cli
