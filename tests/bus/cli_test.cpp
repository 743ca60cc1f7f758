// SPDX-License-Identifier: MulanPSL-2.0
// The etmem CLI against a real etmemd: every command, and every error path ends with a
// non-zero exit and exactly one line on stderr saying what went wrong.
#include <regex>

#include "bus_fixture.hpp"
#include "json_lite.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;

std::string show(const CommandResult& result) {
    return "exit: " + describe(result.status) + "\nstdout:\n" + result.out + "stderr:\n" +
           result.err;
}

// A failure the operator can act on: non-zero exit, one line on stderr, nothing half-done.
void expectOneLineFailure(const CommandResult& result) {
    EXPECT_FALSE(result.timedOut);
    EXPECT_TRUE(result.status.exited) << show(result);
    EXPECT_NE(result.status.code, 0) << show(result);
    EXPECT_EQ(result.errLines().size(), 1u) << show(result);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class Cli : public BusTest {
  protected:
    CommandResult add(const std::string& name, const std::string& config) {
        return etmem({"project", "add", "-n", name, "-f", writeConfig(name + ".yaml", config)});
    }
};

TEST_F(Cli, AddShowDelete) {
    auto added = add("web", validConfig());
    ASSERT_TRUE(added.status.success()) << show(added);
    EXPECT_EQ(listProjects().size(), 1u);

    auto one = etmem({"project", "show", "-n", "web"});
    ASSERT_TRUE(one.status.success()) << show(one);
    EXPECT_TRUE(contains(one.out, "web")) << one.out;
    EXPECT_TRUE(contains(one.out, "stopped")) << one.out;
    EXPECT_TRUE(contains(one.out, std::to_string(target_.pid()))) << one.out;

    auto removed = etmem({"project", "del", "-n", "web"});
    ASSERT_TRUE(removed.status.success()) << show(removed);
    EXPECT_TRUE(listProjects().empty());
    auto after = etmem({"project", "show"});
    EXPECT_TRUE(after.status.success()) << show(after);
    EXPECT_FALSE(contains(after.out, "web")) << after.out;
}

TEST_F(Cli, LongOptionsWork) {
    auto path = writeConfig("long.yaml", validConfig());
    auto added = etmem({"project", "add", "--name", "long", "--file", path});
    ASSERT_TRUE(added.status.success()) << show(added);
    auto started = etmem({"migrate", "start", "--name", "long"});
    EXPECT_TRUE(started.status.success()) << show(started);
    EXPECT_TRUE(waitForState("long", "running"));
    auto stopped = etmem({"migrate", "stop", "--name", "long"});
    EXPECT_TRUE(stopped.status.success()) << show(stopped);
    auto removed = etmem({"project", "del", "--name", "long"});
    EXPECT_TRUE(removed.status.success()) << show(removed);
}

TEST_F(Cli, AcceptsEtmem10LineFormat) {
    std::string config =
        "options:\n\tloop : 1\n\tinterval : 1\n  \tsleep : 1\n\tpolicies:\n"
        "\t\ttype : pid\n\t\tvalue : " +
        std::to_string(target_.pid()) +
        "\n\t\tmax_threads : 1\n\t\tengine : slide\n\t\tparam:\n\t\t\tT : 1\n";
    auto added = add("legacy", config);
    ASSERT_TRUE(added.status.success()) << show(added);
    auto loop = project("legacy")
                    ->getProperty("Loop")
                    .onInterface(etmem::bus::kProjectInterface.data())
                    .get<std::uint32_t>();
    EXPECT_EQ(loop, 1u);
    // Both forms give the same normalized project.
    ASSERT_TRUE(add("modern", validConfig()).status.success());
    auto configOf = [&](const std::string& name) {
        return project(name)
            ->getProperty("Config")
            .onInterface(etmem::bus::kProjectInterface.data())
            .get<std::string>();
    };
    EXPECT_EQ(configOf("legacy"), configOf("modern"));
    EXPECT_FALSE(configOf("legacy").empty());
}

TEST_F(Cli, DuplicateAddFails) {
    ASSERT_TRUE(add("dup", validConfig()).status.success());
    auto again = add("dup", validConfig());
    expectOneLineFailure(again);
    EXPECT_TRUE(contains(again.err, "dup")) << again.err;
    EXPECT_EQ(listProjects().size(), 1u);
}

TEST_F(Cli, BadConfigNamesPosition) {
    auto config = validConfig();
    config.replace(config.find("interval: 1"), 11, "interval: 5000");
    auto result = add("bad", config);
    expectOneLineFailure(result);
    EXPECT_TRUE(std::regex_search(result.err, std::regex("line [0-9]+, column [0-9]+")))
        << result.err;
    EXPECT_TRUE(contains(result.err, "interval")) << result.err;
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Cli, UnreadableFileFails) {
    auto missing = etmem({"project", "add", "-n", "x", "-f", (*dir_ / "no-such.yaml").string()});
    expectOneLineFailure(missing);
    EXPECT_TRUE(contains(missing.err, "no-such.yaml")) << missing.err;
    auto directory = etmem({"project", "add", "-n", "x", "-f", dir_->path().string()});
    expectOneLineFailure(directory);
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Cli, DeleteUnknownFails) {
    auto result = etmem({"project", "del", "-n", "ghost"});
    expectOneLineFailure(result);
    EXPECT_TRUE(contains(result.err, "ghost")) << result.err;
}

TEST_F(Cli, StartTwiceFails) {
    ASSERT_TRUE(add("twice", validConfig(1200)).status.success());
    auto first = etmem({"migrate", "start", "-n", "twice"});
    ASSERT_TRUE(first.status.success()) << show(first);
    auto second = etmem({"migrate", "start", "-n", "twice"});
    expectOneLineFailure(second);
    EXPECT_TRUE(contains(second.err, "twice")) << second.err;
    EXPECT_EQ(projectState("twice"), "running");
}

TEST_F(Cli, StopStoppedFails) {
    ASSERT_TRUE(add("idle", validConfig()).status.success());
    auto result = etmem({"migrate", "stop", "-n", "idle"});
    expectOneLineFailure(result);
    EXPECT_TRUE(contains(result.err, "idle")) << result.err;
    EXPECT_EQ(projectState("idle"), "stopped");
}

TEST_F(Cli, StartAndStopUnknownFail) {
    expectOneLineFailure(etmem({"migrate", "start", "-n", "ghost"}));
    expectOneLineFailure(etmem({"migrate", "stop", "-n", "ghost"}));
    expectOneLineFailure(etmem({"project", "show", "-n", "ghost"}));
}

TEST_F(Cli, ShowAllAndJsonParses) {
    for (const char* name : {"alpha", "beta", "gamma"})
        ASSERT_TRUE(add(name, validConfig()).status.success());
    ASSERT_TRUE(etmem({"migrate", "start", "-n", "beta"}).status.success());
    ASSERT_TRUE(waitForState("beta", "running"));

    auto table = etmem({"project", "show"});
    ASSERT_TRUE(table.status.success()) << show(table);
    for (const char* name : {"alpha", "beta", "gamma"}) EXPECT_TRUE(contains(table.out, name));

    auto json = etmem({"project", "show", "--json"});
    ASSERT_TRUE(json.status.success()) << show(json);
    std::string error;
    auto document = parseJson(json.out, &error);
    ASSERT_TRUE(document) << error << "\n" << json.out;
    ASSERT_EQ(document->kind, JsonValue::Kind::Array) << json.out;
    ASSERT_EQ(document->items.size(), 3u);
    for (const auto& item : document->items) {
        const auto* name = item.member("name");
        const auto* state = item.member("state");
        ASSERT_TRUE(name && state) << json.out;
        EXPECT_EQ(state->string, name->string == "beta" ? "running" : "stopped");
    }

    auto oneJson = etmem({"project", "show", "-n", "gamma", "--json"});
    ASSERT_TRUE(oneJson.status.success()) << show(oneJson);
    auto one = parseJson(oneJson.out, &error);
    ASSERT_TRUE(one) << error << "\n" << oneJson.out;
    EXPECT_TRUE(one->containsString("gamma"));
    EXPECT_FALSE(one->containsString("alpha"));
}

TEST_F(Cli, HelpCommands) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"help"}, {"project", "help"}, {"migrate", "help"}}) {
        auto result = etmem(args);
        EXPECT_TRUE(result.status.success()) << quoteCommand(args) << "\n" << show(result);
        EXPECT_FALSE(result.out.empty()) << quoteCommand(args);
    }
    auto result = etmem({"project", "help"});
    EXPECT_TRUE(contains(result.out, "add")) << result.out;
    EXPECT_TRUE(contains(result.out, "show")) << result.out;
}

TEST_F(Cli, UnknownCommandFails) {
    auto result = etmem({"project", "frobnicate"});
    EXPECT_NE(result.status.code, 0) << show(result);
    EXPECT_FALSE(result.err.empty());
    auto missingName = etmem({"project", "add", "-f", writeConfig("n.yaml", validConfig())});
    EXPECT_NE(missingName.status.code, 0) << show(missingName);
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Cli, NoDaemonNamesTheBusName) {
    ASSERT_TRUE(daemon_->terminate(5s));
    auto result = etmem({"project", "show"});
    expectOneLineFailure(result);
    EXPECT_TRUE(contains(result.err, defaultBusName())) << result.err;

    auto instance = etmem({"project", "show", "-s", "other"});
    expectOneLineFailure(instance);
    EXPECT_TRUE(contains(instance.err, etmem::bus::busNameForInstance("other"))) << instance.err;
}

TEST_F(Cli, NoBusNamesTheBusName) {
    auto env = bus_->environment();
    env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + (*dir_ / "no-bus-here").string();
    auto result = runCommand({programs().etmem, "project", "show"}, env);
    expectOneLineFailure(result);
    EXPECT_TRUE(contains(result.err, defaultBusName())) << result.err;
}

}  // namespace
}  // namespace etmem::test
