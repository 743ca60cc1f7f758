// SPDX-License-Identifier: MulanPSL-2.0
// Event-loop benchmark: what a client that waits on polkit, a flood of calls, or a stop
// costs everybody else. On a private system bus with etmemd (the bus-test harness):
//   - read latency (ListProjects, Properties.Get) with no check pending, and while 8
//     unprivileged StartProject calls wait on a polkit that never answers (a client owning
//     org.freedesktop.PolicyKit1 that reads nothing, as a hung polkitd);
//   - time from SIGTERM to exit while 16 clients keep 100 GetManagedObjects each queued
//     (100 projects), against what draining that backlog would take;
//   - StopProject latency on running projects (answered once the workers ended), and the
//     time until State reads "stopped".
// Every latency is also a ratio to the bus's own round trip (GetId answered by dbus-daemon)
// measured in the same run. Exit code: 0 on success, 1 on any error, 77 when not root.
#include <sys/stat.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bus_harness.hpp"
#include "etmem/contract/bus_names.hpp"
#include "polkit_rig.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using namespace etmem::test;

using ManagedObjects =
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>>;

constexpr int kBaselineCalls = 2000;
constexpr int kReadCalls = 500;
constexpr int kPendingChecks = 8;
constexpr int kFloodProjects = 100;
constexpr int kFloodClients = 16;
constexpr int kFloodCallsEach = 100;  // under dbus-daemon's 128 pending replies per connection
constexpr int kStopRounds = 20;

double microsecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

double median(std::vector<double> samples) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

double p99(std::vector<double> samples) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    return samples[static_cast<std::size_t>(0.99 * static_cast<double>(samples.size() - 1))];
}

template <typename Call>
std::vector<double> timeCalls(int count, Call&& call) {
    std::vector<double> samples;
    for (int i = 0; i < count; ++i) {
        auto start = Clock::now();
        call(i);
        samples.push_back(microsecondsSince(start));
    }
    return samples;
}

void printLatency(const char* what, const std::vector<double>& samples, double baseline) {
    std::printf("  %-46s median %9.1f us (%6.1fx)  p99 %9.1f us\n", what, median(samples),
                median(samples) / baseline, p99(samples));
}

class Rig {
  public:
    explicit Rig(const std::string& extraConfig = polkitBusConfig())
        : programs_(buildPrograms(ETMEMD_PATH, ETMEM_CLI_PATH)),
          bus_(programs_, dir_.path(), extraConfig),
          target_(Process::spawn({"/bin/sleep", "100000"}, currentEnvironment())),
          daemon_(programs_, bus_,
                  {{"-l", "2"}, dir_ / "state", dir_ / "notify", dir_ / "etmemd.log"}) {
        chmod(dir_.path().c_str(), 0755);  // nobody reaches the bus socket
        if (!daemon_.waitReady(10s))
            throw std::runtime_error("etmemd did not become ready:\n" + daemon_.log());
        connection_ = sdbus::createSessionBusConnectionWithAddress(bus_.address());
        driver_ = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        manager_ = sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName),
                                      std::string(etmem::bus::kManagerPath));
    }

    double baselineMedian() {
        return median(timeCalls(kBaselineCalls, [&](int) {
            std::string id;
            driver_->callMethod("GetId").onInterface("org.freedesktop.DBus").storeResultsTo(id);
        }));
    }
    void managerCall(const std::string& method, const std::string& name) {
        manager_->callMethod(method)
            .onInterface(std::string(etmem::bus::kManagerInterface))
            .withArguments(name);
    }
    void addProject(const std::string& name, unsigned interval) {
        manager_->callMethod("AddProject")
            .onInterface(std::string(etmem::bus::kManagerInterface))
            .withArguments(name, pidConfig(target_.pid(), 1, interval, 1));
    }
    void listProjects() {
        std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> list;
        manager_->callMethod("ListProjects")
            .onInterface(std::string(etmem::bus::kManagerInterface))
            .storeResultsTo(list);
    }
    void readVersion() {
        sdbus::Variant value = manager_->getProperty("Version").onInterface(
            std::string(etmem::bus::kManagerInterface));
    }
    std::string state(const std::string& name) {
        return sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName),
                                  etmem::bus::projectObjectPath(name))
            ->getProperty("State")
            .onInterface(std::string(etmem::bus::kProjectInterface))
            .get<std::string>();
    }

    Programs programs_;
    TempDir dir_;
    PrivateBus bus_;
    Process target_;
    Daemon daemon_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> driver_;
    std::unique_ptr<sdbus::IProxy> manager_;
};

// Reads with and without polkit checks pending on a polkit that never answers.
void readsWhilePolkitHangs() {
    Rig rig;
    SilentPolkit silent(rig.bus_.address());
    rig.addProject("pending", 1200);
    for (int i = 0; i < 10; ++i) rig.addProject("p" + std::to_string(i), 1200);
    const double baseline = rig.baselineMedian();
    auto idleList = timeCalls(kReadCalls, [&](int) { rig.listProjects(); });
    auto idleGet = timeCalls(kReadCalls, [&](int) { rig.readVersion(); });

    std::vector<Process> waiting;
    for (int i = 0; i < kPendingChecks; ++i)
        waiting.push_back(Process::spawn(
            asUser("nobody",
                   {rig.programs_.busctl, "--address=" + rig.bus_.address(), "--timeout=60",
                    "--allow-interactive-authorization=no", "call",
                    std::string(etmem::bus::kDefaultBusName), std::string(etmem::bus::kManagerPath),
                    std::string(etmem::bus::kManagerInterface), "StartProject", "s", "pending"}),
            rig.bus_.environment()));
    std::this_thread::sleep_for(1s);  // every check is with the silent polkit now
    auto pendingList = timeCalls(kReadCalls, [&](int) { rig.listProjects(); });
    auto pendingGet = timeCalls(kReadCalls, [&](int) { rig.readVersion(); });
    int stillWaiting = 0;
    for (auto& process : waiting) stillWaiting += process.alive();

    std::printf(
        "\nreads while polkit checks hang (%d StartProject by nobody, %d still pending "
        "at the end)\n",
        kPendingChecks, stillWaiting);
    printLatency("bus GetId (baseline)",
                 timeCalls(kBaselineCalls,
                           [&](int) {
                               std::string id;
                               rig.driver_->callMethod("GetId")
                                   .onInterface("org.freedesktop.DBus")
                                   .storeResultsTo(id);
                           }),
                 baseline);
    printLatency("ListProjects, no check pending", idleList, baseline);
    printLatency("ListProjects, checks pending", pendingList, baseline);
    printLatency("Get Version, no check pending", idleGet, baseline);
    printLatency("Get Version, checks pending", pendingGet, baseline);
    std::printf("  pending/idle median ratio: ListProjects %.2f, Get %.2f\n",
                median(pendingList) / median(idleList), median(pendingGet) / median(idleGet));
    if (stillWaiting != kPendingChecks)
        throw std::runtime_error("a polkit check ended early: the figures are not while pending");
}

// SIGTERM while a backlog of expensive calls is queued.
void sigtermUnderFlood() {
    Rig rig;
    for (int i = 0; i < kFloodProjects; ++i) rig.addProject("p" + std::to_string(i), 1200);
    const double baseline = rig.baselineMedian();
    auto root = sdbus::createProxy(*rig.connection_, std::string(etmem::bus::kDefaultBusName), "/");
    auto oneCall = timeCalls(50, [&](int) {
        ManagedObjects objects;
        root->callMethod("GetManagedObjects")
            .onInterface("org.freedesktop.DBus.ObjectManager")
            .storeResultsTo(objects);
    });
    std::vector<std::unique_ptr<sdbus::IConnection>> clients;
    std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
    std::atomic<int> answered{0};
    for (int c = 0; c < kFloodClients; ++c) {
        clients.push_back(sdbus::createSessionBusConnectionWithAddress(rig.bus_.address()));
        proxies.push_back(
            sdbus::createProxy(*clients.back(), std::string(etmem::bus::kDefaultBusName), "/"));
        for (int i = 0; i < kFloodCallsEach; ++i)
            proxies.back()
                ->callMethodAsync("GetManagedObjects")
                .onInterface("org.freedesktop.DBus.ObjectManager")
                .withTimeout(60s)
                .uponReplyInvoke([&answered](const sdbus::Error* error, const ManagedObjects&) {
                    if (error == nullptr) ++answered;
                });
        clients.back()->enterEventLoopAsync();
    }
    while (answered.load() == 0) std::this_thread::sleep_for(1ms);
    const auto start = Clock::now();
    auto status = rig.daemon_.terminate(60s);
    const double exitUs = microsecondsSince(start);
    const int answeredAtExit = answered.load();
    for (auto& client : clients) client->leaveEventLoop();
    proxies.clear();
    if (!status || !status->success()) throw std::runtime_error("etmemd did not exit cleanly");
    const int backlog = kFloodClients * kFloodCallsEach - answeredAtExit;
    const double drainUs = backlog * median(oneCall);
    std::printf("\nSIGTERM under a flood (%d clients x %d GetManagedObjects, %d projects)\n",
                kFloodClients, kFloodCallsEach, kFloodProjects);
    printLatency("bus GetId (baseline)", {baseline}, baseline);
    printLatency("one GetManagedObjects (unloaded)", oneCall, baseline);
    std::printf("  calls still queued at SIGTERM: %d; draining them would take ~%.0f ms\n", backlog,
                drainUs / 1000);
    std::printf("  SIGTERM -> exit: %.1f ms (%.1fx GetId; %.3f of the drain time)\n", exitUs / 1000,
                exitUs / baseline, exitUs / drainUs);
}

// StopProject on running projects: reply latency and when State reads "stopped".
void stopLatency() {
    Rig rig("");
    const double baseline = rig.baselineMedian();
    std::vector<double> replies, stopped;
    for (int i = 0; i < kStopRounds; ++i) {
        const std::string name = "stop" + std::to_string(i);
        rig.addProject(name, 1);  // waiting in its 1 s interval, or scanning
        rig.managerCall("StartProject", name);
        std::this_thread::sleep_for(std::chrono::milliseconds(50 + 37 * i));
        const auto start = Clock::now();
        rig.managerCall("StopProject", name);
        replies.push_back(microsecondsSince(start));
        while (rig.state(name) != "stopped") {
        }
        stopped.push_back(microsecondsSince(start));
        rig.managerCall("RemoveProject", name);
    }
    std::printf("\nStopProject on a running project (%d rounds)\n", kStopRounds);
    printLatency("bus GetId (baseline)", {baseline}, baseline);
    printLatency("StopProject reply (workers ended)", replies, baseline);
    printLatency("StopProject -> State reads stopped", stopped, baseline);
}

}  // namespace

int main() {
    if (geteuid() != 0) {
        std::puts("needs root: only root may own org.openeuler.Etmem under the bus policy");
        return 77;
    }
    try {
        std::printf("etmem event-loop benchmark (ratios: to GetId answered by dbus-daemon)\n");
        readsWhilePolkitHangs();
        sigtermUnderFlood();
        stopLatency();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "loop bench failed: %s\n", e.what());
        return 1;
    }
    return 0;
}
