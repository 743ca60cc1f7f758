// SPDX-License-Identifier: MulanPSL-2.0
// etmem's command line: every command and option of etmem 1.0, long forms, and the ways a
// command line can be wrong.
#include "command_line.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace etmem::cli {
namespace {

using Args = std::vector<std::string>;

// The message of the UsageError args raise ("" if they parse).
std::string usageMessage(const Args& args) {
    try {
        parseCommandLine(args);
    } catch (const UsageError& error) {
        return error.what();
    }
    return "";
}

TEST(CliCommandLine, Etmem11ObjAndProjectStartStop) {
    Command add = parseCommandLine({"obj", "add", "-f", "/etc/etmem/slide_conf.yaml", "-s", "s"});
    EXPECT_EQ(add.action, Action::ObjAdd);
    EXPECT_EQ(add.configPath, "/etc/etmem/slide_conf.yaml");
    EXPECT_EQ(add.instance, "s");
    EXPECT_EQ(parseCommandLine({"obj", "del", "--file", "x"}).action, Action::ObjDel);
    EXPECT_EQ(parseCommandLine({"obj", "help"}).action, Action::ObjHelp);
    Command start = parseCommandLine({"project", "start", "-n", "test", "-s", "s"});
    EXPECT_EQ(start.action, Action::ProjectStart);
    EXPECT_EQ(start.projectName, "test");
    EXPECT_EQ(parseCommandLine({"project", "stop", "--name", "test"}).action, Action::ProjectStop);
    EXPECT_EQ(parseCommandLine({"project", "show"}).action, Action::ProjectShow);
    // What each needs, and what it does not take.
    EXPECT_NE(usageMessage({"obj", "add"}).find("needs -f|--file"), std::string::npos);
    EXPECT_NE(usageMessage({"obj", "add", "-f", "x", "-n", "p"}).find("not valid for 'obj add'"),
              std::string::npos);
    EXPECT_NE(usageMessage({"project", "start"}).find("needs -n|--name"), std::string::npos);
    EXPECT_NE(usageMessage({"obj", "ad", "-f", "x"}).find("see 'etmem obj help'"),
              std::string::npos);
    try {
        parseCommandLine({"obj"});
        FAIL() << "'etmem obj' parsed";
    } catch (const UsageError& error) {
        EXPECT_TRUE(error.showHelp());
        EXPECT_EQ(error.topic(), HelpTopic::Obj);
    }
}

// `etmem reload` has no command word: options follow the object.
TEST(CliCommandLine, ReloadTakesSocketAndNoAskPassword) {
    EXPECT_EQ(parseCommandLine({"reload"}).action, Action::Reload);
    Command c = parseCommandLine({"reload", "-s", "inst", "--no-ask-password"});
    EXPECT_EQ(c.action, Action::Reload);
    EXPECT_EQ(c.instance, "inst");
    EXPECT_FALSE(c.askPassword);
    EXPECT_EQ(parseCommandLine({"reload", "help"}).action, Action::ReloadHelp);
    EXPECT_NE(usageMessage({"reload", "-n", "x"}).find("not valid for 'reload'"), std::string::npos)
        << usageMessage({"reload", "-n", "x"});
    EXPECT_NE(usageMessage({"reload", "now"}).find("see 'etmem reload help'"), std::string::npos);
    EXPECT_NE(helpText(HelpTopic::Reload).find("org.openeuler.etmem.reload"), std::string::npos);
    EXPECT_NE(helpText(HelpTopic::Main).find("etmem reload"), std::string::npos);
}

TEST(CliCommandLine, ProjectAddWithShortOptions) {
    Command c =
        parseCommandLine({"project", "add", "-n", "test", "-f", "/etc/x.yaml", "-s", "dt_socket"});
    EXPECT_EQ(c.action, Action::ProjectAdd);
    EXPECT_EQ(c.projectName, "test");
    EXPECT_EQ(c.configPath, "/etc/x.yaml");
    EXPECT_EQ(c.instance, "dt_socket");
    EXPECT_FALSE(c.json);
}

TEST(CliCommandLine, ProjectAddWithLongOptionsInAnyOrder) {
    Command c = parseCommandLine(
        {"project", "add", "--socket", "sock1", "--file", "conf.yaml", "--name", "p1"});
    EXPECT_EQ(c.projectName, "p1");
    EXPECT_EQ(c.configPath, "conf.yaml");
    EXPECT_EQ(c.instance, "sock1");
}

TEST(CliCommandLine, SockIsAnAliasOfSocket) {
    // etmem 1.0 documented --sock and implemented --socket.
    EXPECT_EQ(parseCommandLine({"project", "del", "-n", "a", "--sock", "s1"}).instance, "s1");
    EXPECT_EQ(parseCommandLine({"project", "del", "-n", "a", "--socket", "s2"}).instance, "s2");
}

TEST(CliCommandLine, EqualsAndAttachedValues) {
    Command c = parseCommandLine({"project", "add", "--name=p", "-fconf", "--sock=i"});
    EXPECT_EQ(c.projectName, "p");
    EXPECT_EQ(c.configPath, "conf");
    EXPECT_EQ(c.instance, "i");
    EXPECT_EQ(parseCommandLine({"migrate", "start", "-nproj"}).projectName, "proj");
}

TEST(CliCommandLine, SocketIsOptional) {
    Command c = parseCommandLine({"project", "add", "-n", "p", "-f", "c"});
    EXPECT_EQ(c.instance, "");
}

TEST(CliCommandLine, ProjectDel) {
    Command c = parseCommandLine({"project", "del", "--name", "p"});
    EXPECT_EQ(c.action, Action::ProjectDel);
    EXPECT_EQ(c.projectName, "p");
}

TEST(CliCommandLine, ProjectShowVariants) {
    Command all = parseCommandLine({"project", "show"});
    EXPECT_EQ(all.action, Action::ProjectShow);
    EXPECT_EQ(all.projectName, "");
    EXPECT_FALSE(all.json);
    Command one = parseCommandLine({"project", "show", "-n", "p", "--json", "-s", "i"});
    EXPECT_EQ(one.projectName, "p");
    EXPECT_TRUE(one.json);
    EXPECT_EQ(one.instance, "i");
}

TEST(CliCommandLine, NoAskPasswordForEveryCommandThatTalksToTheDaemon) {
    EXPECT_TRUE(parseCommandLine({"migrate", "start", "-n", "p"}).askPassword);
    for (const Args& args : {Args{"migrate", "start", "-n", "p", "--no-ask-password"},
                             Args{"migrate", "stop", "--no-ask-password", "-n", "p"},
                             Args{"project", "del", "-n", "p", "--no-ask-password"},
                             Args{"project", "add", "-n", "p", "-f", "x", "--no-ask-password"},
                             Args{"project", "show", "--no-ask-password"}})
        EXPECT_FALSE(parseCommandLine(args).askPassword) << args[0] << " " << args[1];
    EXPECT_NE(usageMessage({"migrate", "start", "-n", "p", "--no-ask-password=yes"})
                  .find("takes no value"),
              std::string::npos);
}

TEST(CliCommandLine, MigrateStartAndStop) {
    Command start = parseCommandLine({"migrate", "start", "-n", "p", "-s", "i"});
    EXPECT_EQ(start.action, Action::MigrateStart);
    EXPECT_EQ(start.projectName, "p");
    EXPECT_EQ(start.instance, "i");
    Command stop = parseCommandLine({"migrate", "stop", "--name", "q"});
    EXPECT_EQ(stop.action, Action::MigrateStop);
    EXPECT_EQ(stop.projectName, "q");
}

TEST(CliCommandLine, HelpCommands) {
    EXPECT_EQ(parseCommandLine({"help"}).action, Action::Help);
    EXPECT_EQ(parseCommandLine({"project", "help"}).action, Action::ProjectHelp);
    EXPECT_EQ(parseCommandLine({"migrate", "help"}).action, Action::MigrateHelp);
    EXPECT_EQ(parseCommandLine({"--help"}).action, Action::Help);
    EXPECT_EQ(parseCommandLine({"project", "-h"}).action, Action::ProjectHelp);
}

TEST(CliCommandLine, NoArgumentsShowsMainHelp) {
    try {
        parseCommandLine({});
        FAIL() << "no UsageError";
    } catch (const UsageError& error) {
        EXPECT_TRUE(error.showHelp());
        EXPECT_EQ(error.topic(), HelpTopic::Main);
    }
}

TEST(CliCommandLine, ObjectWithoutCommandShowsItsHelp) {
    for (auto [object, topic] :
         {std::pair{"project", HelpTopic::Project}, std::pair{"migrate", HelpTopic::Migrate}}) {
        try {
            parseCommandLine({object});
            FAIL() << object;
        } catch (const UsageError& error) {
            EXPECT_TRUE(error.showHelp());
            EXPECT_EQ(error.topic(), topic);
        }
    }
}

TEST(CliCommandLine, UnknownObjectAndCommand) {
    EXPECT_EQ(usageMessage({"projct"}), "etmem: unknown object 'projct'; see 'etmem help'");
    // `project start` is etmem 1.1's form of `migrate start` (Etmem11ObjAndProjectStartStop).
    EXPECT_EQ(usageMessage({"project", "begin", "-n", "p"}),
              "etmem: unknown command 'project begin'; see 'etmem project help'");
    EXPECT_EQ(usageMessage({"migrate", "add"}),
              "etmem: unknown command 'migrate add'; see 'etmem migrate help'");
}

TEST(CliCommandLine, MissingRequiredOptions) {
    EXPECT_EQ(usageMessage({"project", "add", "-f", "c"}),
              "etmem: 'project add' needs -n|--name <proj_name>; see 'etmem project help'");
    EXPECT_EQ(usageMessage({"project", "add", "-n", "p"}),
              "etmem: 'project add' needs -f|--file <conf_file>; see 'etmem project help'");
    EXPECT_NE(usageMessage({"project", "del"}).find("needs -n|--name"), std::string::npos);
    EXPECT_NE(usageMessage({"migrate", "start", "-s", "i"}).find("needs -n|--name"),
              std::string::npos);
    EXPECT_NE(usageMessage({"migrate", "stop"}).find("see 'etmem migrate help'"),
              std::string::npos);
}

TEST(CliCommandLine, MissingOptionValue) {
    EXPECT_EQ(usageMessage({"project", "del", "-n"}),
              "etmem: option -n|--name <proj_name> needs a value; see 'etmem project help'");
    EXPECT_NE(usageMessage({"project", "add", "-n", "p", "--file"}).find("needs a value"),
              std::string::npos);
}

TEST(CliCommandLine, ExtraArguments) {
    EXPECT_EQ(usageMessage({"project", "del", "-n", "p", "extra"}),
              "etmem: unexpected argument 'extra' for 'project del'; see 'etmem project help'");
    EXPECT_NE(usageMessage({"help", "me"}).find("unexpected argument 'me'"), std::string::npos);
    EXPECT_NE(usageMessage({"project", "help", "x"}).find("unexpected argument 'x'"),
              std::string::npos);
    EXPECT_NE(usageMessage({"migrate", "start", "-n", "p", "--", "-x"}).find("'-x'"),
              std::string::npos);
    EXPECT_NE(usageMessage({"migrate", "start", "-n", "p", "-"}).find("unexpected argument"),
              std::string::npos);
}

TEST(CliCommandLine, UnknownOptions) {
    EXPECT_EQ(usageMessage({"project", "show", "-x"}),
              "etmem: unknown option '-x'; see 'etmem project help'");
    EXPECT_EQ(usageMessage({"migrate", "start", "--nam", "p"}),
              "etmem: unknown option '--nam'; see 'etmem migrate help'");
}

TEST(CliCommandLine, OptionsNotValidForTheCommand) {
    EXPECT_NE(usageMessage({"project", "del", "-n", "p", "-f", "c"})
                  .find("option -f|--file <conf_file> is not valid for 'project del'"),
              std::string::npos);
    EXPECT_NE(usageMessage({"migrate", "start", "-n", "p", "--json"}).find("not valid"),
              std::string::npos);
    EXPECT_NE(usageMessage({"project", "help", "-n", "p"}).find("not valid"), std::string::npos);
    EXPECT_NE(usageMessage({"project", "show", "--json=yes"}).find("takes no value"),
              std::string::npos);
}

TEST(CliCommandLine, RepeatedOptionIsRefused) {
    EXPECT_NE(usageMessage({"project", "del", "-n", "a", "--name", "b"}).find("given twice"),
              std::string::npos);
}

TEST(CliCommandLine, SocketNameLengthLimit) {
    std::string longest(107, 's');
    EXPECT_EQ(parseCommandLine({"project", "show", "-s", longest}).instance, longest);
    std::string tooLong(108, 's');
    std::string message = usageMessage({"project", "show", "-s", tooLong});
    EXPECT_NE(message.find("108 bytes long; at most 107 bytes"), std::string::npos) << message;
    EXPECT_NE(message.find("at most 107"), std::string::npos) << message;
    EXPECT_NE(usageMessage({"migrate", "stop", "-n", "p", "--socket=" + tooLong}), "");
}

TEST(CliCommandLine, BadNamesAreUsageErrors) {
    EXPECT_NE(usageMessage({"project", "show", "-s", ""}).find("empty"), std::string::npos);
    EXPECT_NE(usageMessage({"project", "del", "-n", ""}).find("empty"), std::string::npos);
    EXPECT_NE(usageMessage({"project", "del", "-n", "a/b"}).find("'/'"), std::string::npos);
    EXPECT_NE(usageMessage({"project", "del", "-n", "a\nb"}).find("control character"),
              std::string::npos);
    EXPECT_NE(usageMessage({"project", "add", "-n", "p", "-f", ""}).find("file path"),
              std::string::npos);
}

TEST(CliCommandLine, ValueMayStartWithDash) {
    // As with getopt: the argument after -n is its value, whatever it looks like.
    EXPECT_EQ(parseCommandLine({"project", "del", "-n", "-odd"}).projectName, "-odd");
}

TEST(CliHelpTexts, MainHelpIsEtmem10s) {
    std::string_view text = helpText(HelpTopic::Main);
    EXPECT_NE(text.find("    etmem OBJECT COMMAND\n"), std::string_view::npos);
    // etmem 1.1 added the obj object beside 1.0's project and migrate.
    EXPECT_NE(text.find("    OBJECT  := { project | migrate | obj }\n"), std::string_view::npos);
    EXPECT_NE(text.find("    COMMAND := { add | del | start | stop | show | help }\n"),
              std::string_view::npos);
}

TEST(CliHelpTexts, ProjectHelpNamesEveryCommandAndOption) {
    std::string_view text = helpText(HelpTopic::Project);
    for (std::string_view line : {"etmem project add [options]", "etmem project del [options]",
                                  "etmem project show [options]", "etmem project help",
                                  "-f|--file <conf_file>     Add configuration file",
                                  "-n|--name <proj_name>     Add project name",
                                  "-s|--sock <sock_name>     Socket name to connect", "--json",
                                  "Configuration file must be given when execute add option."}) {
        EXPECT_NE(text.find(line), std::string_view::npos) << line;
    }
}

TEST(CliHelpTexts, MigrateHelpNamesEveryCommandAndOption) {
    std::string_view text = helpText(HelpTopic::Migrate);
    for (std::string_view line :
         {"etmem migrate start [options]", "etmem migrate stop  [options]", "etmem migrate help",
          "-n|--name <proj_name>     Add project name",
          "-s|--socket <socket_name> Socket name to connect",
          "Project name must be given when execute start or stop option."}) {
        EXPECT_NE(text.find(line), std::string_view::npos) << line;
    }
}

TEST(CliHelpTexts, EveryUsageHintNamesAnExistingHelpCommand) {
    for (const Args& args : {Args{"x"}, Args{"project", "x"}, Args{"migrate", "x"}}) {
        std::string message = usageMessage(args);
        auto at = message.find("see 'etmem ");
        ASSERT_NE(at, std::string::npos) << message;
        std::string hint = message.substr(at + 11, message.size() - at - 12);
        Args hintArgs;
        for (std::size_t start = 0; start <= hint.size();) {
            auto space = hint.find(' ', start);
            if (space == std::string::npos) space = hint.size();
            hintArgs.push_back(hint.substr(start, space - start));
            start = space + 1;
        }
        Action action = parseCommandLine(hintArgs).action;
        EXPECT_TRUE(action == Action::Help || action == Action::ProjectHelp ||
                    action == Action::MigrateHelp)
            << hint;
    }
}

}  // namespace
}  // namespace etmem::cli
