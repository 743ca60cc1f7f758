// Control-plane benchmark: how etmemd's D-Bus API scales to 1,000 projects.
//
// Starts a private system bus and etmemd (the bus-test harness), then measures
//   - AddProject latency for 1,000 projects (each: one pid task against a sleeping process),
//   - `etmem project show` (table and --json) with 1,000 projects,
//   - 10,000 property reads (Project.State via org.freedesktop.DBus.Properties.Get),
//   - RemoveProject latency, and the daemon's VmRSS with 0 and 1,000 projects.
// Every latency is also given as a ratio to the bus's own round trip (GetId answered by
// dbus-daemon itself) measured in the same run, so figures compare across machines.
// Exit code: 0 on success, 1 on any error, 77 when not root.
#include <sdbus-c++/sdbus-c++.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "bus_harness.hpp"
#include "etmem/contract/bus_names.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using etmem::test::Daemon;
using etmem::test::PrivateBus;
using etmem::test::Process;
using etmem::test::TempDir;

constexpr int kProjects = 1000;
constexpr int kPropertyReads = 10000;
constexpr int kBaselineCalls = 10000;
constexpr int kShowRuns = 5;

double microsecondsSince(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

struct Summary {
    double median = 0;
    double p99 = 0;
    double mean = 0;
};

Summary summarize(std::vector<double> samples) {
    Summary summary;
    if (samples.empty()) return summary;
    std::sort(samples.begin(), samples.end());
    auto at = [&](double quantile) {
        auto index = static_cast<std::size_t>(quantile * static_cast<double>(samples.size() - 1));
        return samples[index];
    };
    summary.median = at(0.5);
    summary.p99 = at(0.99);
    summary.mean =
        std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
    return summary;
}

// Times `call` `count` times, one sample per call, in microseconds.
template <typename Call>
std::vector<double> timeCalls(int count, Call&& call) {
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        auto start = Clock::now();
        call(i);
        samples.push_back(microsecondsSince(start));
    }
    return samples;
}

void printLatency(const std::string& what, const Summary& summary, const Summary& baseline,
                  int count) {
    std::printf("  %-34s n=%-6d median %8.1f us (%5.1fx)   p99 %8.1f us (%5.1fx)\n", what.c_str(),
                count, summary.median, summary.median / baseline.median, summary.p99,
                summary.p99 / baseline.p99);
}

std::string projectName(int i) {
    return "bench-" + std::to_string(i);
}

class Bench {
  public:
    Bench()
        : programs_(etmem::test::buildPrograms(ETMEMD_PATH, ETMEM_CLI_PATH)),
          bus_(programs_, dir_.path()),
          target_(Process::spawn({"/bin/sleep", "100000"}, etmem::test::currentEnvironment())),
          daemon_(programs_, bus_,
                  {{"-l", "2"}, dir_ / "state", dir_ / "notify", dir_ / "etmemd.log"}) {
        if (!daemon_.waitReady(10s))
            throw std::runtime_error("etmemd did not become ready:\n" + daemon_.log());
        connection_ = sdbus::createSessionBusConnectionWithAddress(bus_.address());
        driver_ = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        manager_ = sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName),
                                      std::string(etmem::bus::kManagerPath));
        config_ = etmem::test::pidConfig(target_.pid(), 1, 1200, 1);
    }

    int run() {
        std::printf("etmem control-plane benchmark: %d projects, %d property reads\n", kProjects,
                    kPropertyReads);
        std::printf("(ratios: to the bus's own round trip, GetId answered by dbus-daemon)\n");
        auto baseline = measureBaseline();
        long rssEmpty = etmem::test::residentKiB(daemon_.process().pid());

        auto addSamples = timeCalls(kProjects, [&](int i) { addProject(projectName(i)); });
        if (listProjects().size() != kProjects)
            throw std::runtime_error("ListProjects does not list every added project");
        long rssFull = etmem::test::residentKiB(daemon_.process().pid());

        auto reads = timeCalls(kPropertyReads, [&](int i) { readState(i % kProjects); });
        auto lists = timeCalls(100, [&](int) { listProjects(); });
        auto showTable = timeShow({"project", "show"});
        auto showJson = timeShow({"project", "show", "--json"});

        auto removeSamples = timeCalls(kProjects, [&](int i) { removeProject(projectName(i)); });
        if (!listProjects().empty()) throw std::runtime_error("projects left after removal");
        long rssAfter = etmem::test::residentKiB(daemon_.process().pid());

        std::printf("\nmethod-call latency\n");
        printLatency("bus GetId (baseline)", baseline.bus, baseline.bus, kBaselineCalls);
        printLatency("etmemd Peer.Ping", baseline.ping, baseline.bus, kBaselineCalls);
        printLatency("AddProject", summarize(addSamples), baseline.bus, kProjects);
        printLatency("Properties.Get State (1k projects)", summarize(reads), baseline.bus,
                     kPropertyReads);
        printLatency("ListProjects (1k projects)", summarize(lists), baseline.bus, 100);
        printLatency("RemoveProject", summarize(removeSamples), baseline.bus, kProjects);
        std::printf(
            "\n`etmem project show` with %d projects (median of %d runs, process start "
            "included)\n",
            kProjects, kShowRuns);
        std::printf("  table  %8.1f ms   --json  %8.1f ms\n", showTable / 1000, showJson / 1000);
        std::printf("\netmemd VmRSS\n");
        std::printf(
            "  0 projects     %7ld KiB\n  %d projects %7ld KiB  (%.1f KiB per project)\n"
            "  after removal  %7ld KiB\n",
            rssEmpty, kProjects, rssFull, static_cast<double>(rssFull - rssEmpty) / kProjects,
            rssAfter);
        if (!daemon_.process().alive()) throw std::runtime_error("etmemd died");
        auto status = daemon_.terminate(10s);
        if (!status || !status->success())
            throw std::runtime_error("etmemd did not exit cleanly on SIGTERM");
        return 0;
    }

  private:
    struct Baseline {
        Summary bus;
        Summary ping;
    };

    Baseline measureBaseline() {
        Baseline baseline;
        baseline.bus = summarize(timeCalls(kBaselineCalls, [&](int) {
            std::string id;
            driver_->callMethod("GetId").onInterface("org.freedesktop.DBus").storeResultsTo(id);
        }));
        baseline.ping = summarize(timeCalls(kBaselineCalls, [&](int) {
            manager_->callMethod("Ping").onInterface("org.freedesktop.DBus.Peer");
        }));
        return baseline;
    }

    void addProject(const std::string& name) {
        sdbus::ObjectPath path;
        manager_->callMethod("AddProject")
            .onInterface(etmem::bus::kManagerInterface.data())
            .withArguments(name, config_)
            .storeResultsTo(path);
        projects_.push_back(
            sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName), path));
    }

    void removeProject(const std::string& name) {
        manager_->callMethod("RemoveProject")
            .onInterface(etmem::bus::kManagerInterface.data())
            .withArguments(name);
    }

    void readState(int index) {
        auto state = projects_.at(static_cast<std::size_t>(index))
                         ->getProperty("State")
                         .onInterface(etmem::bus::kProjectInterface.data())
                         .get<std::string>();
        if (state != "stopped") throw std::runtime_error("unexpected state " + state);
    }

    std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> listProjects() {
        std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> projects;
        manager_->callMethod("ListProjects")
            .onInterface(etmem::bus::kManagerInterface.data())
            .storeResultsTo(projects);
        return projects;
    }

    // Median wall time of the CLI command in microseconds; throws if it fails or omits a
    // project.
    double timeShow(const std::vector<std::string>& args) {
        std::vector<std::string> argv{programs_.etmem};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<double> samples;
        for (int run = 0; run < kShowRuns; ++run) {
            auto start = Clock::now();
            auto result = etmem::test::runCommand(argv, bus_.environment(), 120s);
            samples.push_back(microsecondsSince(start));
            if (!result.status.success())
                throw std::runtime_error(etmem::test::quoteCommand(args) +
                                         " failed: " + result.err);
            for (int i : {0, kProjects / 2, kProjects - 1})
                if (result.out.find(projectName(i)) == std::string::npos)
                    throw std::runtime_error(etmem::test::quoteCommand(args) + " omits " +
                                             projectName(i));
        }
        return summarize(samples).median;
    }

    etmem::test::Programs programs_;
    TempDir dir_{"etmem-bench"};
    PrivateBus bus_;
    Process target_;
    Daemon daemon_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> driver_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::vector<std::unique_ptr<sdbus::IProxy>> projects_;
    std::string config_;
};

}  // namespace

int main() {
    if (geteuid() != 0) {
        std::printf("skipped: needs root (only root may own org.openeuler.Etmem)\n");
        return 77;
    }
    try {
        return Bench().run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "benchmark failed: %s\n", e.what());
        return 1;
    }
}
