// SPDX-License-Identifier: MulanPSL-2.0
// What any local user ("nobody" here) could do to etmemd, and must not be able to: knock it
// off the bus with one read, stall it for everyone by not reading replies, pin its memory
// with oversized arguments while polkit is slow, and take every reply slot etmemd has at
// dbus-daemon so that other users' checks fail.
#include <pwd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "etmem/contract/limits.hpp"
#include "polkit_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";

// A valid config of about `bytes` bytes: cgroup tasks with long paths, as a large real one.
constexpr bool kSanitized = ETMEM_SANITIZED;

// How many calls the flooder's summary ("<count> <outcome>" lines) says ended in `outcome`.
int refusals(const std::string& summary, std::string_view outcome) {
    std::istringstream lines(summary);
    std::string line;
    while (std::getline(lines, line)) {
        const auto space = line.find(' ');
        if (space != std::string::npos && line.substr(space + 1) == outcome)
            return std::stoi(line.substr(0, space));
    }
    return 0;
}

std::string largeConfig(std::size_t bytes) {
    std::string path = "etmem.slice";
    while (path.size() < 3000) path += "/" + std::string(200, 'c');
    std::string text = "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n";
    for (unsigned task = 0; text.size() < bytes; ++task)
        text += "    - type: cgroup\n      value: " + path + "/" + std::to_string(task) +
                "\n      engine: slide\n      param:\n        T: 1\n";
    return text;
}

// Latencies of `rounds` reads of the manager's Version by root, sorted.
std::vector<std::chrono::microseconds> versionLatencies(sdbus::IProxy& manager, int rounds) {
    std::vector<std::chrono::microseconds> latencies;
    for (int i = 0; i < rounds; ++i) {
        auto start = Clock::now();
        sdbus::Variant version;
        manager.callMethod("Get")
            .onInterface("org.freedesktop.DBus.Properties")
            .withArguments(std::string(bus::kManagerInterface), std::string("Version"))
            .storeResultsTo(version);
        latencies.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
    }
    std::sort(latencies.begin(), latencies.end());
    return latencies;
}

std::chrono::microseconds percentile(const std::vector<std::chrono::microseconds>& sorted,
                                     double fraction) {
    return sorted.at(static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1)));
}

uid_t uidOf(const std::string& user) {
    const passwd* entry = getpwnam(user.c_str());
    if (entry == nullptr) throw std::runtime_error("no user " + user);
    return entry->pw_uid;
}

// Stands in for polkitd: holds every check about `heldUid`'s callers (as polkitd does
// while that user's authentication agent never answers) and grants everyone else's.
class HoldingPolkit {
  public:
    HoldingPolkit(const std::string& busAddress, uid_t heldUid)
        : connection_(sdbus::createSessionBusConnectionWithAddress(busAddress)),
          busDriver_(
              sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus")),
          authority_(sdbus::createObject(*connection_, "/org/freedesktop/PolicyKit1/Authority")),
          heldUid_(heldUid) {
        using Subject = sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>>;
        authority_->registerMethod("CheckAuthorization")
            .onInterface("org.freedesktop.PolicyKit1.Authority")
            .implementedAs([this](sdbus::Result<Decision>&& result, Subject subject, std::string,
                                  std::map<std::string, std::string>, uint32_t,
                                  std::string) { check(std::move(result), subject); });
        authority_->finishRegistration();
        connection_->requestName(kPolkitName);
        connection_->enterEventLoopAsync();
    }
    ~HoldingPolkit() { connection_->leaveEventLoop(); }
    std::size_t held() {
        std::lock_guard lock(mutex_);
        return held_.size();
    }
    unsigned granted() const { return granted_; }

  private:
    using Decision = sdbus::Struct<bool, bool, std::map<std::string, std::string>>;
    template <typename Subject>
    void check(sdbus::Result<Decision>&& result, const Subject& subject) {
        uint32_t uid = 0;
        busDriver_->callMethod("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withArguments(std::get<1>(subject).at("name").template get<std::string>())
            .storeResultsTo(uid);
        if (uid == heldUid_) {
            std::lock_guard lock(mutex_);
            held_.push_back(std::move(result));
            return;
        }
        ++granted_;
        result.returnResults(Decision{true, false, {}});
    }

    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> busDriver_;
    std::unique_ptr<sdbus::IObject> authority_;
    uid_t heldUid_;
    std::mutex mutex_;
    std::vector<sdbus::Result<Decision>> held_;
    std::atomic<unsigned> granted_{0};
};

class HostileCaller : public WithPolkit {
  protected:
    // etmem-hostile-caller as nobody; its output goes to `tag`.log in the test's directory.
    Process flood(const std::string& tag, const std::vector<std::string>& args) {
        std::vector<std::string> argv{ETMEM_HOSTILE_CALLER_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        return Process::spawn(asUser("nobody", argv), bus_->environment(), outputTo(logPath(tag)));
    }
    // The same, reading every reply: what each was ("<count> <ok|error name>" lines).
    std::string floodAndRead(const std::vector<std::string>& args,
                             const std::string& user = "nobody") {
        std::vector<std::string> argv{ETMEM_HOSTILE_CALLER_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back("read");
        auto result = runCommand(asUser(user, argv), bus_->environment(), 60s);
        EXPECT_TRUE(result.status.success()) << result.out << result.err;
        return result.out;
    }
    bool sent(const std::string& tag) {
        return eventually([&] { return readFile(logPath(tag)).find("sent") != std::string::npos; },
                          15s);
    }
    std::string logPath(const std::string& tag) const {
        return (dir_->path() / (tag + ".log")).string();
    }
    long rssKiB() { return residentKiB(daemon_->process().pid()); }
    void expectAliveAndServing(std::size_t projects) {
        EXPECT_TRUE(daemon_->process().alive()) << daemon_->log();
        EXPECT_EQ(listProjects().size(), projects);
    }
};

TEST_F(HostileCaller, ListingTooLargeForTheBusIsRefusedAndProjectShowStillWorks) {
    // 18 projects of 0.9 MiB: the object tree with every property would pass 16 MiB.
    const std::string config = largeConfig(900 * 1024);
    for (int i = 0; i < 18; ++i) addProject("large" + std::to_string(i), config);

    auto refused =
        runCommand(asUser("nobody", {programs().busctl, "--address=" + bus_->address(), "call",
                                     defaultBusName(), "/", "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects"}),
                   bus_->environment(), 30s);
    EXPECT_FALSE(refused.status.success());
    EXPECT_NE(refused.err.find("MiB etmemd sends in one message"), std::string::npos)
        << refused.err;
    expectAliveAndServing(18);

    // The CLI then asks project by project.
    auto show = runCommand(asUser("nobody", {programs().etmem, "project", "show"}),
                           bus_->environment(), 60s);
    EXPECT_TRUE(show.status.success()) << show.err;
    for (int i = 0; i < 18; ++i)
        EXPECT_NE(show.out.find("large" + std::to_string(i)), std::string::npos) << i;
    expectAliveAndServing(18);
}

TEST_F(HostileCaller, UnreadRepliesStallNoOneAndTheirMemoryReturns) {
    // One project of 0.6 MiB: a listing bounded at ~3.5 MiB (the config, Tasks, and each task
    // named again in TaskGates and TaskSettings), so a user who reads has room for two under
    // the 8 MiB a user may leave unread.
    addProject("large0", largeConfig(600 * 1024));
    auto manager = this->manager();
    const auto idle = versionLatencies(*manager, 100);
    const long before = rssKiB();

    // 8 connections x 120 listings of ~3.5 MiB each, never read: 3.4 GB if all were sent.
    Process flooder = flood("unread", {"8", "120", "list", "0"});
    ASSERT_TRUE(sent("unread")) << readFile(logPath("unread"));
    long peak = rssKiB();
    const auto during = versionLatencies(*manager, 100);
    peak = std::max(peak, rssKiB());
    // Root's own listing is still served.
    auto root = sdbus::createProxy(*connection_, defaultBusName(), "/");
    EXPECT_NO_THROW(root->callMethod(
        root->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects")));
    // So is another user who reads; the flooding user is told why not.
    const std::string other = floodAndRead({"1", "2", "list", "0"}, "daemon");
    EXPECT_NE(other.find("2 ok"), std::string::npos) << other;
    const std::string flooding = floodAndRead({"1", "1", "list", "0"});
    EXPECT_NE(flooding.find(std::string("1 ") + kLimitsExceeded), std::string::npos) << flooding;
    peak = std::max(peak, rssKiB());
    flooder.kill();
    std::this_thread::sleep_for(3s);
    const long after = rssKiB();

    std::printf(
        "root's Version read idle p50 %lld us p99 %lld us; during the flood p50 %lld us "
        "p99 %lld us; RSS %ld KiB before, %ld peak, %ld 3 s after\n",
        static_cast<long long>(percentile(idle, 0.5).count()),
        static_cast<long long>(percentile(idle, 0.99).count()),
        static_cast<long long>(percentile(during, 0.5).count()),
        static_cast<long long>(percentile(during, 0.99).count()), before, peak, after);
    EXPECT_LT(percentile(during, 0.99), std::max(percentile(idle, 0.99) * 4, 50000us));
    if (!kSanitized) {
        EXPECT_LT(peak - before, 64 * 1024);
        EXPECT_LT(after - before, 16 * 1024);
    }
    expectAliveAndServing(1);
}

class HostileCallerHeldChecks : public HostileCaller {
  protected:
    void SetUp() override {
        HostileCaller::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        polkit_ = std::make_unique<HoldingPolkit>(bus_->address(), uidOf("nobody"));
    }
    void TearDown() override {
        polkit_.reset();
        HostileCaller::TearDown();
    }
    std::unique_ptr<HoldingPolkit> polkit_;
};

TEST_F(HostileCallerHeldChecks, OversizedArgumentsAreRefusedBeforePolkitIsAsked) {
    const long before = rssKiB();
    std::atomic<long> peak = before;
    std::atomic<bool> flooding{true};
    std::jthread sampler([&] {
        while (flooding) {
            peak = std::max(peak.load(), rssKiB());
            std::this_thread::sleep_for(20ms);
        }
    });
    // 32 configs of 8 MiB: each refused at once, none waits for polkit. etmemd refuses them
    // (InvalidConfig); while 127 MiB of them wait for a slow etmemd (a sanitizer build),
    // dbus-daemon refuses the rest itself (LimitsExceeded): either way none is held.
    const std::string outcomes = floodAndRead({"4", "8", "add", std::to_string(8 << 20)});
    EXPECT_EQ(refusals(outcomes, "org.openeuler.Etmem.Error.InvalidConfig") +
                  refusals(outcomes, kLimitsExceeded),
              32)
        << outcomes;
    EXPECT_GT(refusals(outcomes, "org.openeuler.Etmem.Error.InvalidConfig"), 0) << outcomes;
    EXPECT_EQ(polkit_->held(), 0u);

    // Configs within the limit wait for polkit, but only as many bytes as a caller may hold.
    Process flooder = flood("held", {"2", "16", "add", std::to_string(900 * 1024)});
    ASSERT_TRUE(sent("held"));
    EXPECT_TRUE(eventually([&] { return polkit_->held() > 0; }, 5s));
    std::this_thread::sleep_for(500ms);
    EXPECT_LE(polkit_->held(), 2 * kMaxPendingArgumentBytesPerCaller / (900 * 1024));
    std::this_thread::sleep_for(1500ms);
    flooding = false;
    sampler.join();
    const long after = rssKiB();
    std::printf("RSS %ld KiB before, %ld at the peak, %ld after the floods\n", before, peak.load(),
                after);
    if (!kSanitized) {
        EXPECT_LT(peak - before, 64 * 1024);
        EXPECT_LT(after - before, 32 * 1024);
    }
    expectAliveAndServing(0);
}

TEST_F(HostileCallerHeldChecks, OneUsersHeldChecksLeaveRoomForOthers) {
    addProject("p", validConfig(1200));
    auto manager = this->manager();
    const auto idle = versionLatencies(*manager, 100);
    // 200 checks for nobody, held by polkit: more than etmemd may wait for at dbus-daemon.
    Process flooder = flood("checks", {"2", "100", "start", "0"});
    ASSERT_TRUE(sent("checks"));
    EXPECT_TRUE(eventually([&] { return polkit_->held() >= kMaxPendingChecksPerCaller; }, 5s));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(polkit_->held(), kMaxPendingChecksPerCaller);
    const auto during = versionLatencies(*manager, 100);
    std::printf(
        "root's Version read idle p50 %lld us p99 %lld us; with nobody's checks held "
        "p50 %lld us p99 %lld us\n",
        static_cast<long long>(percentile(idle, 0.5).count()),
        static_cast<long long>(percentile(idle, 0.99).count()),
        static_cast<long long>(percentile(during, 0.5).count()),
        static_cast<long long>(percentile(during, 0.99).count()));

    // Another user's check still reaches polkit, which grants it.
    auto other = runCommand(
        asUser("daemon",
               {programs().busctl, "--address=" + bus_->address(),
                "--allow-interactive-authorization=no", "call", defaultBusName(), managerPath(),
                std::string(bus::kManagerInterface), "StartProject", "s", "p"}),
        bus_->environment(), 30s);
    EXPECT_TRUE(other.status.success()) << other.err;
    EXPECT_EQ(projectState("p"), "running");
    EXPECT_GE(polkit_->granted(), 1u);

    // nobody's next call is told at once why it is not checked.
    const std::string outcomes = floodAndRead({"1", "1", "start", "0"});
    EXPECT_NE(outcomes.find(std::string("1 ") + kLimitsExceeded), std::string::npos) << outcomes;
    expectAliveAndServing(1);
}

}  // namespace
}  // namespace etmem::test
