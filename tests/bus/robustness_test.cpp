// SPDX-License-Identifier: MulanPSL-2.0
// The daemon survives whatever clients send, unchanged, and serves several clients at once.
#include <random>

#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;

std::string describeProjects(const std::vector<ProjectEntry>& projects) {
    std::string text;
    for (const auto& entry : projects) text += std::get<0>(entry) + ":" + std::get<1>(entry) + " ";
    return text;
}

class Robustness : public BusTest {
  protected:
    void SetUp() override {
        BusTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        // Something to lose: one stopped and one running project.
        addProject("keep-stopped", validConfig());
        addProject("keep-running", validConfig(1200));
        callManager("StartProject", "keep-running");
        baseline_ = listProjects();
    }
    // After a rejected input: the daemon runs, and nothing changed.
    void expectUnchanged(const std::string& what) {
        ASSERT_TRUE(daemon_->process().alive()) << "etmemd died after " << what;
        EXPECT_EQ(listProjects(), baseline_)
            << "after " << what << ": " << describeProjects(listProjects());
    }
    void expectRejected(const std::string& what, const std::string& name,
                        const std::string& config) {
        auto outcome = outcomeOf([&] { addProject(name, config); });
        EXPECT_TRUE(outcome.failed()) << what << " was accepted";
        EXPECT_TRUE(outcome.name.starts_with(std::string(etmem::bus::kErrorPrefix)))
            << what << ": " << outcome.name << ": " << outcome.message;
        EXPECT_FALSE(outcome.message.empty()) << what;
        expectUnchanged(what);
    }
    std::vector<ProjectEntry> baseline_;
};

TEST_F(Robustness, GarbageConfigs) {
    std::mt19937 random(42);
    // D-Bus strings are UTF-8 (the client library refuses anything else), so the garbage
    // sent over the bus is random valid UTF-8; BadCliInputs feeds raw bytes to the CLI.
    std::string binary;
    while (binary.size() < 4096) {
        auto code = random() % 0x800;
        if (code == 0) continue;
        if (code < 0x80) {
            binary += static_cast<char>(code);
        } else {
            binary += static_cast<char>(0xc0 | (code >> 6));
            binary += static_cast<char>(0x80 | (code & 0x3f));
        }
    }
    std::string deep(10000, '[');
    const std::vector<std::pair<std::string, std::string>> configs = {
        {"empty", ""},
        {"whitespace", "  \n\t\n"},
        {"binary", binary},
        {"unbalanced", "options: {{{[[["},
        {"deep nesting", deep},
        {"yaml anchors loop", "a: &a [*a]\n"},
        {"unknown key", "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  polcies: {}\n"},
        {"wrong type", "options:\n  loop: many\n"},
        {"negative pid",
         "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n"
         "    type: pid\n    value: -5\n    engine: slide\n    param: {T: 1}\n"},
        {"huge number", "options:\n  loop: 99999999999999999999999999\n"},
        {"nul inside", std::string("options:\n  loop: 1\0\n", 20)},
        {"tabs only", "\t\t\t\n\t\n"},
        {"old format broken", "options:\n\tloop :\n\t: 3\n"},
        {"ten MiB", std::string(10 << 20, 'x')},
        {"ten MiB of lines",
         [] {
             std::string text = "options:\n";
             while (text.size() < (10u << 20)) text += "  # comment line padding\n";
             return text;
         }()},
    };
    for (const auto& [what, config] : configs) expectRejected(what, "newcomer", config);
}

TEST_F(Robustness, InvalidNames) {
    for (const auto& [what, name] : std::vector<std::pair<std::string, std::string>>{
             {"empty name", ""},
             {"slash", "a/b"},
             {"only slash", "/"},
             {"dot dot slash", "../../etc/passwd"},
             {"newline", "a\nb"},
             {"control character", std::string("a\x01", 2)},
             {"256 characters", std::string(256, 'n')},
             {"64 KiB name", std::string(64 << 10, 'n')},
         })
        expectRejected(what, name, validConfig());
}

TEST_F(Robustness, InvalidUtf8NameIsRefusedByTheBusNotTheDaemon) {
    // D-Bus strings must be UTF-8: the client library refuses to send this, and the daemon
    // never sees it. It must still be alive and unchanged.
    auto outcome = outcomeOf([&] { addProject(std::string("\xff\xfe", 2), validConfig()); });
    EXPECT_TRUE(outcome.failed());
    expectUnchanged("a name that is not UTF-8");
}

TEST_F(Robustness, UnusualButValidNamesRoundTrip) {
    for (const auto& name :
         std::vector<std::string>{"with space", "dots.and-dashes_", "ünïcödé", "_", "a_2f",
                                  std::string(255, 'L'), std::string(100, '.')}) {
        sdbus::ObjectPath path;
        auto outcome = outcomeOf([&] { path = addProject(name, validConfig()); });
        ASSERT_TRUE(daemon_->process().alive());
        EXPECT_FALSE(outcome.failed())
            << name.size() << "-character name '" << name.substr(0, 12)
            << "...' refused: " << outcome.name << ": " << outcome.message.substr(0, 200);
        if (outcome.failed()) continue;
        EXPECT_EQ(std::string(path), etmem::bus::projectObjectPath(name));
        auto readBack = project(name)
                            ->getProperty("Name")
                            .onInterface(etmem::bus::kProjectInterface.data())
                            .get<std::string>();
        EXPECT_EQ(readBack, name);
    }
    // "a_2f" and "a/" would collide if escaping were lossy; "a/" is refused anyway, and
    // "a_2f" must not be confused with anything else.
    EXPECT_EQ(listProjects().size(), baseline_.size() + 7);
}

TEST_F(Robustness, BadCliInputs) {
    auto huge = writeConfig("huge.yaml", std::string(10 << 20, 'y'));
    std::mt19937 random(7);
    std::string bytes(4096, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    auto binary = writeConfig("binary.yaml", bytes);
    for (auto args : std::vector<std::vector<std::string>>{
             {"project", "add", "-n", "x", "-f", huge},
             {"project", "add", "-n", "x", "-f", binary},
             {"project", "add", "-n", "", "-f", huge},
             {"project", "add", "-n", "a/b", "-f", writeConfig("ok.yaml", validConfig())},
             {"project", "add", "-n", std::string(10000, 'z'), "-f",
              writeConfig("ok2.yaml", validConfig())},
             {"project", "add", "-n", "x", "-f", "/dev/null"},
             {"project", "add", "-n", "x", "-f", "/proc/self/mem"},
             {"project", "del", "-n", ""},
             {"migrate", "start", "-n", std::string(1000, 'q')},
         }) {
        auto result = etmem(args);
        EXPECT_FALSE(result.timedOut) << quoteCommand(args);
        EXPECT_NE(result.status.code, 0) << quoteCommand(args);
        EXPECT_EQ(result.errLines().size(), 1u) << quoteCommand(args) << "\n" << result.err;
        expectUnchanged(quoteCommand(args));
    }
}

TEST_F(Robustness, WrongSignaturesAndUnknownMembers) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager", "AddProject",
              "s", "only-one"},
             {"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager", "AddProject",
              "ii", "1", "2"},
             {"call", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager", "Explode"},
             {"call", defaultBusName(), "/org/openeuler/Etmem/project/none",
              "org.openeuler.Etmem.Project", "Start"},
             {"set-property", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager",
              "Version", "s", "9"},
             {"set-property", defaultBusName(), managerPath(), "org.openeuler.Etmem.Manager",
              "LogLevel", "u", "17"},
         }) {
        auto result = busctl(args);
        EXPECT_NE(result.status.code, 0) << quoteCommand(args) << "\n" << result.out;
        expectUnchanged(quoteCommand(args));
    }
}

TEST_F(Robustness, ConcurrentClients) {
    constexpr int kClients = 8;
    auto path = writeConfig("shared.yaml", validConfig());
    auto runAll = [&](const std::vector<std::string>& verb, bool withFile) {
        std::vector<std::thread> threads;
        std::vector<CommandResult> results(kClients);
        for (int i = 0; i < kClients; ++i) {
            threads.emplace_back([&, i] {
                std::vector<std::string> args = verb;
                args.insert(args.end(), {"-n", "client-" + std::to_string(i)});
                if (withFile) args.insert(args.end(), {"-f", path});
                results[i] = etmem(args);
            });
        }
        for (auto& thread : threads) thread.join();
        for (int i = 0; i < kClients; ++i)
            EXPECT_TRUE(results[i].status.success())
                << quoteCommand(verb) << " client " << i << ": " << results[i].err;
    };
    runAll({"project", "add"}, true);
    EXPECT_EQ(listProjects().size(), baseline_.size() + kClients);
    runAll({"migrate", "start"}, false);
    for (int i = 0; i < kClients; ++i)
        EXPECT_EQ(projectState("client-" + std::to_string(i)), "running");
    runAll({"project", "del"}, false);
    EXPECT_EQ(listProjects(), baseline_);
}

TEST_F(Robustness, ConcurrentSameNameAddsOneWins) {
    constexpr int kClients = 8;
    std::vector<std::thread> threads;
    std::vector<CallOutcome> outcomes(kClients);
    auto config = validConfig();
    for (int i = 0; i < kClients; ++i) {
        threads.emplace_back([&, i] {
            auto connection = sdbus::createSessionBusConnectionWithAddress(bus_->address());
            auto proxy = sdbus::createProxy(*connection, defaultBusName(), managerPath());
            outcomes[i] = outcomeOf([&] {
                proxy->callMethod("AddProject")
                    .onInterface(etmem::bus::kManagerInterface.data())
                    .withArguments(std::string("contended"), config);
            });
        });
    }
    for (auto& thread : threads) thread.join();
    int won = 0;
    for (const auto& outcome : outcomes) {
        if (!outcome.failed())
            ++won;
        else
            EXPECT_EQ(outcome.name, std::string(etmem::bus::kErrorPrefix) + "ProjectExists");
    }
    EXPECT_EQ(won, 1);
    EXPECT_EQ(listProjects().size(), baseline_.size() + 1);
}

}  // namespace
}  // namespace etmem::test
