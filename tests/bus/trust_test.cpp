// SPDX-License-Identifier: MulanPSL-2.0
// etmemd as a root service operators can trust: identity from the bus, a loop no client
// can stall (polkit slow or silent), stray signals and a lost bus that never kill it.
#include <fcntl.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "polkit_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

using ManagedObjects =
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

std::string accessDenied() {
    return std::string(etmem::bus::kErrorPrefix) + "AccessDenied";
}

// polkit's rules for these tests: "nobody" is granted, but only after 1.5 s of thought (a
// slow polkitd); everyone else falls to the action's default, auth_admin_keep, which
// without an agent is a refusal.
constexpr const char* kSlowGrantRules = R"js(
polkit.addRule(function(action, subject) {
    if (action.id == "org.openeuler.etmem.manage" && subject.user == "nobody") {
        var until = Date.now() + 1500;
        while (Date.now() < until) {}
        return polkit.Result.YES;
    }
});
)js";

// Calls by other users, through busctl, and root's read latency meanwhile: what the tests of
// a slow or a silent polkit measure.
class PolkitCallers : public WithPolkit {
  protected:
    // busctl on the private bus as `user`, non-interactive, with a generous client timeout.
    CommandResult busctlAs(const std::string& user, const std::vector<std::string>& args) {
        // busctl allows interactive authorization by default; etmemd then gives polkit
        // 2 min (a person may be typing). These callers are scripts: 10 s.
        std::vector<std::string> argv{programs().busctl, "--address=" + bus_->address(),
                                      "--timeout=60", "--allow-interactive-authorization=no"};
        argv.insert(argv.end(), args.begin(), args.end());
        return runCommand(asUser(user, argv), bus_->environment(), 70s);
    }
    std::vector<std::string> managerCall(const std::string& method, const std::string& name) {
        return {"call",        defaultBusName(),
                managerPath(), std::string(etmem::bus::kManagerInterface),
                method,        "s",
                name};
    }
    // The worst latency of `rounds` ListProjects calls by root.
    std::chrono::milliseconds worstListLatency(int rounds) {
        std::chrono::milliseconds worst{0};
        for (int i = 0; i < rounds; ++i) {
            auto start = Clock::now();
            listProjects();
            worst = std::max(worst, since(start));
            std::this_thread::sleep_for(20ms);
        }
        return worst;
    }
};

class RealPolkit : public PolkitCallers {
  protected:
    void SetUp() override {
        PolkitCallers::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        startPolkitd(kSlowGrantRules);
    }
};

TEST_F(RealPolkit, CallerIsTheUserItConnectedAsNotWhatProcSaysNow) {
    addProject("target", validConfig(1200));
    // uid 1 (daemon) connects, then the same process becomes root again: /proc says root.
    auto asDaemon = runCommand({ETMEM_CONNECT_AS_PATH, "1", bus_->address(), "target"},
                               bus_->environment(), 30s);
    EXPECT_NE(asDaemon.out.find("bus uid 1, process uid 0"), std::string::npos)
        << asDaemon.out << asDaemon.err;
    EXPECT_EQ(asDaemon.status.code, 1) << asDaemon.out << asDaemon.err;
    EXPECT_NE(asDaemon.out.find(accessDenied()), std::string::npos) << asDaemon.out;
    EXPECT_NE(asDaemon.out.find("Not authorized"), std::string::npos) << asDaemon.out;
    EXPECT_EQ(projectState("target"), "stopped");

    auto asRoot = runCommand({ETMEM_CONNECT_AS_PATH, "0", bus_->address(), "target"},
                             bus_->environment(), 30s);
    EXPECT_EQ(asRoot.status.code, 0) << asRoot.out << asRoot.err;
    EXPECT_EQ(projectState("target"), "running");
}

TEST_F(RealPolkit, SlowPolkitStallsOnlyItsCallerAndTheChangeSeesTheRegistryAsItIsThen) {
    addProject("granted", validConfig(1200));
    addProject("doomed", validConfig(1200));
    CommandResult granted, doomed;
    std::chrono::milliseconds grantedTook{0}, doomedTook{0};
    auto start = Clock::now();
    std::jthread grantedCall([&] {
        granted = busctlAs("nobody", managerCall("StartProject", "granted"));
        grantedTook = since(start);
    });
    std::jthread doomedCall([&] {
        doomed = busctlAs("nobody", managerCall("StartProject", "doomed"));
        doomedTook = since(start);
    });
    std::this_thread::sleep_for(400ms);  // both checks are with polkit now
    auto removeStart = Clock::now();
    callManager("RemoveProject", "doomed");
    auto removeTook = since(removeStart);
    auto worst = worstListLatency(10);
    grantedCall.join();
    doomedCall.join();

    // polkit takes 1.5 s per check (two are queued): waiting for it would show as seconds.
    EXPECT_LT(removeTook, 1s) << "root's RemoveProject waited for another caller's polkit";
    EXPECT_LT(worst, 1s) << "reads waited for another caller's polkit";
    EXPECT_TRUE(granted.status.success()) << granted.err;
    EXPECT_GE(grantedTook, 1400ms) << "polkit's rule takes 1.5 s; was polkit asked at all?";
    EXPECT_EQ(projectState("granted"), "running");
    // polkit said yes to a project removed meanwhile: the change finds it gone.
    EXPECT_FALSE(doomed.status.success());
    EXPECT_NE(doomed.err.find("no project named 'doomed'"), std::string::npos) << doomed.err;
    EXPECT_EQ(listProjects().size(), 1u);
    EXPECT_TRUE(daemon_->process().alive());
}

// etmem on a terminal lets polkit ask (ALLOW_INTERACTIVE_AUTHORIZATION and a pkttyagent),
// elsewhere or with --no-ask-password it does not. No rule grants nobody anything, so the
// action's default, auth_admin_keep, is a challenge: polkit asks an agent if allowed to.
class CliAuthorization : public WithPolkit {
  protected:
    void SetUp() override {
        WithPolkit::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        ASSERT_NO_FATAL_FAILURE(startPolkitd("// no rules\n"));
        addProject("p", validConfig(1200));
    }
    // etmem as nobody with stdin a pipe (no terminal).
    CommandResult etmemAsNobody(std::vector<std::string> args) {
        args.insert(args.begin(), programs().etmem);
        return runCommand(asUser("nobody", args), bus_->environment(), 30s);
    }
    // etmem as nobody on a pseudo-terminal (script(1)); its output is the terminal's.
    CommandResult etmemOnTerminal(std::vector<std::string> args) {
        args.insert(args.begin(), programs().etmem);
        return runCommand(asUser("nobody", {"/usr/bin/script", "--quiet", "--return", "--command",
                                            quoteCommand(args), "/dev/null"}),
                          bus_->environment(), 15s);
    }
};

constexpr const char* kNotInteractiveHint = "retry allowing interactive authorization";

TEST_F(CliAuthorization, WithoutATerminalPolkitIsNotAllowedToAsk) {
    auto result = etmemAsNobody({"migrate", "start", "-n", "p"});
    EXPECT_EQ(result.status.code, 1) << result.err;
    EXPECT_NE(result.err.find(kNotInteractiveHint), std::string::npos) << result.err;
    EXPECT_EQ(projectState("p"), "stopped");
}

TEST_F(CliAuthorization, NoAskPasswordOnATerminalDoesNotAsk) {
    auto result = etmemOnTerminal({"migrate", "start", "-n", "p", "--no-ask-password"});
    EXPECT_FALSE(result.timedOut) << result.out;
    EXPECT_NE(result.out.find(kNotInteractiveHint), std::string::npos) << result.out;
    EXPECT_EQ(result.out.find("AUTHENTICATING FOR"), std::string::npos) << result.out;
    EXPECT_EQ(projectState("p"), "stopped");
}

// On a terminal the call carries ALLOW_INTERACTIVE_AUTHORIZATION and pkttyagent answers for
// etmem's process: polkit asks for an administrator's password (the action's default). No one
// types one here, and nothing changes meanwhile; PasswordPrompt (prompt_test.cpp) answers.
TEST_F(CliAuthorization, OnATerminalPolkitAsksForAnAdministratorsPassword) {
    Terminal terminal(asUser("nobody", {programs().etmem, "migrate", "start", "-n", "p"}),
                      bus_->environment());
    EXPECT_TRUE(terminal.waitFor("AUTHENTICATING FOR org.openeuler.etmem.manage", 20s))
        << terminal.output();
    EXPECT_EQ(terminal.output().find(kNotInteractiveHint), std::string::npos) << terminal.output();
    EXPECT_EQ(projectState("p"), "stopped");
}

class SilentPolkitTest : public PolkitCallers {
  protected:
    // A watchdog of 0.4 s: etmemd pings every 0.2 s while the loop turns.
    Environment daemonExtraEnv() const override { return {{"WATCHDOG_USEC", "400000"}}; }
    void SetUp() override {
        PolkitCallers::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        silent_ = std::make_unique<SilentPolkit>(bus_->address());
    }
    std::size_t watchdogPings() {
        std::size_t pings = 0;
        for (const auto& line : daemon_->notify().received()) pings += line == "WATCHDOG=1";
        return pings;
    }
    std::unique_ptr<SilentPolkit> silent_;
};

TEST_F(SilentPolkitTest, AHungPolkitStallsNobodyAndItsCallerIsToldPolkitDidNotAnswer) {
    addProject("pending", validConfig(1200));
    addProject("other", validConfig(1200));
    CommandResult pending;
    std::chrono::milliseconds pendingTook{0};
    std::atomic<bool> pendingEnded{false};
    auto start = Clock::now();
    std::jthread pendingCall([&] {
        pending = busctlAs("nobody", managerCall("StartProject", "pending"));
        pendingTook = since(start);
        pendingEnded = true;
    });
    std::this_thread::sleep_for(1s);  // the check is with the silent polkit by now
    const auto pingsBefore = watchdogPings();
    const auto windowStart = Clock::now();

    auto worst = worstListLatency(20);
    auto changeStart = Clock::now();
    callManager("StartProject", "other");
    callManager("StopProject", "other");
    auto rootChangeTook = since(changeStart);
    auto read = busctlAs("nobody", {"get-property", defaultBusName(), managerPath(),
                                    std::string(etmem::bus::kManagerInterface), "Version"});
    const auto window = since(windowStart);
    const auto pings = watchdogPings() - pingsBefore;
    EXPECT_FALSE(pendingEnded.load()) << "the pending call ended within the window";

    // The silent polkit would hold a waiting loop for 10 s.
    EXPECT_LT(worst, 1s);
    EXPECT_LT(rootChangeTook, 2s);
    EXPECT_TRUE(read.status.success()) << read.err;
    EXPECT_GE(pings, static_cast<std::size_t>(window / 400ms))
        << "over " << window.count() << " ms";

    pendingCall.join();
    EXPECT_FALSE(pending.status.success());
    EXPECT_NE(pending.err.find("polkit did not answer"), std::string::npos) << pending.err;
    EXPECT_GE(pendingTook, 9s);
    EXPECT_LT(pendingTook, 20s);
    EXPECT_EQ(projectState("pending"), "stopped");
}

using Survival = BusTest;

TEST_F(Survival, StraySignalsAreLoggedAndIgnored) {
    addProject("kept", validConfig());
    for (int signal : {SIGUSR1, SIGUSR2, SIGALRM, SIGHUP}) {
        daemon_->process().sendSignal(signal);
        std::this_thread::sleep_for(100ms);
        ASSERT_TRUE(daemon_->process().alive()) << strsignal(signal) << " killed etmemd";
        EXPECT_EQ(listProjects().size(), 1u) << "after " << strsignal(signal);
    }
    EXPECT_TRUE(eventually(
        [&] { return daemon_->log().find("User defined signal 2, ignored") != std::string::npos; },
        2s))
        << daemon_->log();
}

TEST_F(Survival, AClosedStderrPipeDoesNotKillIt) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
    DaemonOptions options;
    options.extraArgs = {"-s", "piped", "-l", "0"};
    options.stateDir = *dir_ / "state-piped";
    options.notifyPath = *dir_ / "notify-piped";
    options.logPath = *dir_ / "etmemd-piped.log";
    Daemon piped(programs(), *bus_, options, {{}, {{1, writeEnd.get()}, {2, writeEnd.get()}}});
    writeEnd.reset();
    ASSERT_TRUE(piped.waitReady());
    readEnd.reset();  // whoever read etmemd's stderr is gone
    const std::string busName = etmem::bus::busNameForInstance("piped");
    for (int i = 0; i < 3; ++i) {  // each logs "project added"/"deleted" to the dead pipe
        auto outcome = outcomeOf([&] {
            manager(busName)
                ->callMethod("AddProject")
                .onInterface(etmem::bus::kManagerInterface.data())
                .withArguments(std::string("p"), validConfig());
            manager(busName)
                ->callMethod("RemoveProject")
                .onInterface(etmem::bus::kManagerInterface.data())
                .withArguments(std::string("p"));
        });
        EXPECT_FALSE(outcome.failed()) << outcome.name << ": " << outcome.message;
        ASSERT_TRUE(piped.process().alive()) << "etmemd died writing to a closed pipe";
    }
    EXPECT_TRUE(listProjects(busName).empty());
}

TEST_F(Survival, LosingTheBusIsANormalFailureExit) {
    addProject("running", validConfig(1200));
    callManager("StartProject", "running");
    connection_.reset();
    bus_->process().kill();
    auto status = daemon_->process().waitFor(10s);
    ASSERT_TRUE(status) << "etmemd kept running without its bus";
    EXPECT_TRUE(status->exited) << describe(*status);
    EXPECT_NE(status->code, 0);
    EXPECT_NE(daemon_->log().find("lost the connection to the system bus"), std::string::npos)
        << daemon_->log();
}

TEST_F(Survival, StopIsAnsweredOnceTheWorkersEndedAndAtOnce) {
    addProject("cycling", validConfig(1));
    for (int round = 0; round < 5; ++round) {
        callManager("StartProject", "cycling");
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + 250 * round));
        auto start = Clock::now();
        callManager("StopProject", "cycling");
        auto took = since(start);
        EXPECT_LT(took, 1s) << "round " << round;
        EXPECT_EQ(projectState("cycling"), "stopped");
    }
    callManager("StartProject", "cycling");
    auto start = Clock::now();
    callManager("RemoveProject", "cycling");
    EXPECT_LT(since(start), 1s);
    EXPECT_TRUE(listProjects().empty());
    EXPECT_NE(daemon_->log().find("project deleted"), std::string::npos) << daemon_->log();
}

TEST_F(Survival, SigtermIsHandledBeforeAFloodOfCalls) {
    // Calls that cost etmemd real work: GetManagedObjects over 100 projects.
    for (int i = 0; i < 100; ++i) addProject("p" + std::to_string(i), validConfig());
    constexpr int kClients = 16;
    constexpr int kCallsEach = 100;  // under dbus-daemon's 128 pending replies per connection
    std::vector<std::unique_ptr<sdbus::IConnection>> clients;
    std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
    std::atomic<int> answered{0};
    for (int c = 0; c < kClients; ++c) {
        clients.push_back(sdbus::createSessionBusConnectionWithAddress(bus_->address()));
        proxies.push_back(sdbus::createProxy(*clients.back(), defaultBusName(), "/"));
        for (int i = 0; i < kCallsEach; ++i)
            proxies.back()
                ->callMethodAsync("GetManagedObjects")
                .onInterface("org.freedesktop.DBus.ObjectManager")
                .withTimeout(60s)
                .uponReplyInvoke([&answered](const sdbus::Error* error, const ManagedObjects&) {
                    if (error == nullptr) ++answered;
                });
        clients.back()->enterEventLoopAsync();
    }
    ASSERT_TRUE(eventually([&] { return answered.load() > 0; }, 10s));
    auto start = Clock::now();
    auto status = daemon_->terminate(30s);
    auto took = since(start);
    const int answeredAtExit = answered.load();
    for (auto& client : clients) client->leaveEventLoop();
    proxies.clear();
    ASSERT_TRUE(status) << "etmemd did not exit";
    EXPECT_TRUE(status->success()) << describe(*status);
    EXPECT_LT(answeredAtExit, kClients * kCallsEach) << "the flood was over before SIGTERM";
    EXPECT_LT(took, 1s) << "answered " << answeredAtExit << " of " << kClients * kCallsEach;
}

}  // namespace
}  // namespace etmem::test
