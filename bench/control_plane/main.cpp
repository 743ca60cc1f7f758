// SPDX-License-Identifier: MulanPSL-2.0
// Control-plane benchmark: how etmemd's D-Bus API scales to 1,000 projects.
//
// Starts a private system bus and etmemd (the bus-test harness), then measures
//   - AddProject latency for 1,000 projects (each: one pid task against a sleeping process),
//   - `etmem project show` (table and --json) with 1,000 projects,
//   - 10,000 property reads (Project.State via org.freedesktop.DBus.Properties.Get),
//   - RemoveProject latency, and the daemon's VmRSS with 0 and 1,000 projects,
//   - the restore at start with 1,000, 5,000 and 10,000 saved projects (time until READY=1
//     and until ListProjects answers with all of them; STATUS= datagrams sent meanwhile),
//   - VmRSS after a rejected config (1 MiB of '[').
// With --reload, only the reload of project files (projects.d): 250, 500 and 1,000 file
// projects, one file changed per Reload (and none), the time the call takes (the short form
// CI runs as bench.control_plane_reload).
// Every latency is also given as a ratio to the bus's own round trip (GetId answered by
// dbus-daemon itself) measured in the same run, so figures compare across machines;
// `etmem project show` is given against the GetManagedObjects call it makes (in process,
// reply unread) and against `busctl call` of it (a process that reads and prints the reply).
// Exit code: 0 on success, 1 on any error, 77 when not root.
#include <sdbus-c++/sdbus-c++.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bus_harness.hpp"
#include "etmem/contract/bus_names.hpp"
#include "etmem/contract/limits.hpp"
#include "state_store.hpp"

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
constexpr int kShowRuns = 11;
constexpr int kRestoreCounts[] = {1000, 5000, 10000};
constexpr int kReloadCounts[] = {250, 500, 1000};
constexpr int kReloadRuns = 5;

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
        root_ = sdbus::createProxy(*connection_, std::string(etmem::bus::kDefaultBusName), "/");
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
        const double managedObjects =
            summarize(timeCalls(kShowRuns * 4, [&](int) { getManagedObjects(); })).median;
        const std::vector<std::string> busctlCall{programs_.busctl,
                                                  "--address=" + bus_.address(),
                                                  "call",
                                                  std::string(etmem::bus::kDefaultBusName),
                                                  "/",
                                                  "org.freedesktop.DBus.ObjectManager",
                                                  "GetManagedObjects"};
        const CommandTimes busctl = timeCommand(busctlCall);
        const CommandTimes showTable = timeCommand({programs_.etmem, "project", "show"});
        const CommandTimes showJson = timeCommand({programs_.etmem, "project", "show", "--json"});

        auto removeSamples = timeCalls(kProjects, [&](int i) { removeProject(projectName(i)); });
        if (!listProjects().empty()) throw std::runtime_error("projects left after removal");
        long rssAfter = etmem::test::residentKiB(daemon_.process().pid());
        RejectedConfig rejected = measureRejectedConfig();
        std::vector<Restore> restores;
        for (int count : kRestoreCounts) restores.push_back(measureRestore(count));

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
            "included; CPU: mean per run)\n",
            kProjects, kShowRuns);
        std::printf("  GetManagedObjects round trip (in process, reply unread) %8.1f ms\n",
                    managedObjects / 1000);
        printCommand("busctl call GetManagedObjects", busctl, managedObjects, busctl);
        printCommand("etmem project show", showTable, managedObjects, busctl);
        printCommand("etmem project show --json", showJson, managedObjects, busctl);
        std::printf("\netmemd VmRSS\n");
        std::printf(
            "  0 projects     %7ld KiB\n  %d projects %7ld KiB  (%.1f KiB per project)\n"
            "  after removal  %7ld KiB\n",
            rssEmpty, kProjects, rssFull, static_cast<double>(rssFull - rssEmpty) / kProjects,
            rssAfter);
        std::printf(
            "  rejected config (1 MiB of '['): %ld KiB before, %ld KiB a second after (%+ld "
            "KiB); transient peak (VmHWM) %ld -> %ld KiB\n",
            rejected.before, rejected.after, rejected.after - rejected.before, rejected.peakBefore,
            rejected.peakAfter);

        std::printf(
            "\nrestore at start (saved, stopped projects; spawn to READY=1, and to ListProjects "
            "answering with all)\n");
        for (const Restore& r : restores)
            std::printf(
                "  %6d projects  READY %8.1f ms  answering %8.1f ms (%6.1f us/project, %5.1fx "
                "GetId)  etmemd CPU %8.1f ms (%6.1f us/project)  STATUS= sent: %d\n",
                r.count, r.readyMs, r.answeringMs, r.answeringMs * 1000 / r.count,
                r.answeringMs * 1000 / r.count / baseline.bus.median, r.cpuMs,
                r.cpuMs * 1000 / r.count, r.statusMessages);
        const Restore& small = restores.front();
        const Restore& large = restores.back();
        std::printf(
            "  linearity, %d vs %d projects: wall per project %.2fx, CPU per project %.2fx "
            "(1.00 = linear)\n",
            large.count, small.count,
            (large.answeringMs / large.count) / (small.answeringMs / small.count),
            (large.cpuMs / large.count) / (small.cpuMs / small.count));
        if (!daemon_.process().alive()) throw std::runtime_error("etmemd died");
        auto status = daemon_.terminate(10s);
        if (!status || !status->success())
            throw std::runtime_error("etmemd did not exit cleanly on SIGTERM");
        return 0;
    }

    int runReload() {
        std::printf("etmem control-plane benchmark: Reload of project files\n");
        auto baseline = measureBaseline();
        std::vector<Reload> reloads;
        for (int count : kReloadCounts) reloads.push_back(measureReload(count));
        std::printf(
            "\nReload with N file projects (running), median of %d calls; the files are read "
            "and compared every time\n",
            kReloadRuns);
        for (const Reload& r : reloads)
            std::printf(
                "  %5d files  one changed %7.1f ms (%5.1f us/file, %6.1fx GetId)  none changed "
                "%7.1f ms (%5.1f us/file)  etmemd CPU %6.1f ms/reload (%5.1f us/file)  start to "
                "READY %8.1f ms\n",
                r.count, r.oneChangedMs, r.oneChangedMs * 1000 / r.count,
                r.oneChangedMs * 1000 / baseline.bus.median, r.unchangedMs,
                r.unchangedMs * 1000 / r.count, r.cpuMs, r.cpuMs * 1000 / r.count, r.readyMs);
        const Reload& small = reloads.front();
        const Reload& large = reloads.back();
        std::printf(
            "  linearity, %d vs %d files: per file, one changed %.2fx, none changed %.2fx, "
            "etmemd CPU %.2fx (1.00 = linear)\n",
            large.count, small.count,
            (large.oneChangedMs / large.count) / (small.oneChangedMs / small.count),
            (large.unchangedMs / large.count) / (small.unchangedMs / small.count),
            (large.cpuMs / large.count) / (small.cpuMs / small.count));
        if (large.oneChangedMs > 1000)
            std::printf("  NOTE: the reload of %d files took more than 1 s\n", large.count);
        return 0;
    }

  private:
    struct Reload {
        int count = 0;
        double readyMs = 0;
        double oneChangedMs = 0;  // median
        double unchangedMs = 0;   // median
        double cpuMs = 0;         // etmemd's CPU per Reload, mean of all
    };

    // `count` project files, an etmemd instance started on them, then Reloads: one with a
    // changed file each (the same file, its interval alternating), and ones with none.
    Reload measureReload(int count) {
        const std::string instance = "reload" + std::to_string(count);
        const auto configDir = dir_ / ("conf-" + instance);
        const auto projectsDir = configDir / "projects.d";
        std::filesystem::create_directories(projectsDir);
        for (int i = 0; i < count; ++i)
            etmem::test::writeFile(projectsDir / (projectName(i) + ".yaml"), config_);
        auto start = Clock::now();
        Daemon daemon(programs_, bus_,
                      {{"-l", "2", "-s", instance},
                       dir_ / ("state-" + instance),
                       dir_ / ("notify-" + instance),
                       dir_ / ("etmemd-" + instance + ".log")},
                      etmem::test::DaemonExtras{{{"CONFIGURATION_DIRECTORY", configDir}}, {}});
        if (!daemon.waitReady(120s))
            throw std::runtime_error("etmemd on project files did not become ready:\n" +
                                     daemon.log());
        Reload result;
        result.count = count;
        result.readyMs = microsecondsSince(start) / 1000;
        auto manager = sdbus::createProxy(*connection_, etmem::bus::busNameForInstance(instance),
                                          std::string(etmem::bus::kManagerPath));
        auto reload = [&](std::size_t expectChanged) {
            std::vector<std::string> added, changed, removed, unchanged;
            std::vector<sdbus::Struct<std::string, uint32_t, std::string, std::string>> failed;
            manager->callMethod("Reload")
                .onInterface(etmem::bus::kManagerInterface.data())
                .storeResultsTo(added, changed, removed, unchanged, failed);
            if (changed.size() != expectChanged || !failed.empty() || !added.empty() ||
                !removed.empty() || unchanged.size() + changed.size() != std::size_t(count))
                throw std::runtime_error("Reload of " + std::to_string(count) +
                                         " files answered unexpectedly");
        };
        // Every project's first cycle runs right after the start: let them finish, so the
        // reloads are measured alone.
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * count));
        std::vector<double> oneChanged, none;
        const double cpuBefore = cpuMilliseconds(daemon.process().pid());
        for (int run = 0; run < kReloadRuns; ++run) {
            const std::string edited = etmem::test::pidConfig(target_.pid(), 1, 1100 + run, 1);
            etmem::test::writeFile(projectsDir / (projectName(count / 2) + ".yaml"), edited);
            auto t0 = Clock::now();
            reload(1);
            oneChanged.push_back(microsecondsSince(t0));
            t0 = Clock::now();
            reload(0);
            none.push_back(microsecondsSince(t0));
        }
        result.cpuMs = (cpuMilliseconds(daemon.process().pid()) - cpuBefore) / (2 * kReloadRuns);
        result.oneChangedMs = summarize(oneChanged).median / 1000;
        result.unchangedMs = summarize(none).median / 1000;
        auto status = daemon.terminate(60s);
        if (!status || !status->success())
            throw std::runtime_error("etmemd on project files did not exit cleanly");
        return result;
    }

    struct RejectedConfig {
        long before = 0, after = 0;
        long peakBefore = 0, peakAfter = 0;  // VmHWM: the parse's transient peak
    };

    static long peakKiB(pid_t pid) {
        std::istringstream status(
            etmem::test::readFile("/proc/" + std::to_string(pid) + "/status"));
        std::string line;
        while (std::getline(status, line))
            if (line.starts_with("VmHWM:")) return std::strtol(line.c_str() + 6, nullptr, 10);
        return -1;
    }
    struct Restore {
        int count = 0;
        double readyMs = 0, answeringMs = 0;
        double cpuMs = 0;  // etmemd's own CPU time (user + system) until it answered
        int statusMessages = 0;
    };

    // The daemon's RSS before and a second after a config it refuses; the parser's peak
    // must not stay resident.
    RejectedConfig measureRejectedConfig() {
        RejectedConfig result;
        result.before = etmem::test::residentKiB(daemon_.process().pid());
        result.peakBefore = peakKiB(daemon_.process().pid());
        std::string brackets(etmem::kMaxConfigBytes, '[');
        try {
            manager_->callMethod("AddProject")
                .onInterface(etmem::bus::kManagerInterface.data())
                .withArguments(std::string("rejected"), brackets);
            throw std::runtime_error("1 MiB of '[' was accepted");
        } catch (const sdbus::Error& e) {
            if (e.getName() != "org.openeuler.Etmem.Error.InvalidConfig")
                throw std::runtime_error("unexpected error " + e.getName());
        }
        std::this_thread::sleep_for(1s);
        result.after = etmem::test::residentKiB(daemon_.process().pid());
        result.peakAfter = peakKiB(daemon_.process().pid());
        return result;
    }

    // Writes `count` saved projects (the store's own format and file names) and times an
    // etmemd instance restoring them.
    Restore measureRestore(int count) {
        const auto stateDir = dir_ / ("restore-" + std::to_string(count));
        std::filesystem::create_directories(stateDir);
        etmem::NullLogger quiet;
        etmem::service::StateStore writer(stateDir, quiet);
        for (int i = 0; i < count; ++i) {
            etmem::service::SavedProject saved{projectName(i), config_, false};
            etmem::test::writeFile(writer.fileFor(saved.name), serializeForBench(saved));
        }
        const std::string instance = "restore" + std::to_string(count);
        auto start = Clock::now();
        Daemon restoring(programs_, bus_,
                         {{"-l", "2", "-s", instance},
                          stateDir,
                          dir_ / ("notify-" + instance),
                          dir_ / ("etmemd-" + instance + ".log")});
        if (!restoring.waitReady(120s))
            throw std::runtime_error("restoring etmemd did not become ready:\n" + restoring.log());
        Restore result;
        result.count = count;
        result.readyMs = microsecondsSince(start) / 1000;
        auto manager = sdbus::createProxy(*connection_, etmem::bus::busNameForInstance(instance),
                                          std::string(etmem::bus::kManagerPath));
        std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> listed;
        manager->callMethod("ListProjects")
            .onInterface(etmem::bus::kManagerInterface.data())
            .storeResultsTo(listed);
        result.answeringMs = microsecondsSince(start) / 1000;
        result.cpuMs = cpuMilliseconds(restoring.process().pid());
        if (static_cast<int>(listed.size()) != count)
            throw std::runtime_error("restored " + std::to_string(listed.size()) + " of " +
                                     std::to_string(count));
        for (const auto& assignment : restoring.notify().received())
            result.statusMessages += assignment.starts_with("STATUS=");
        auto status = restoring.terminate(30s);
        if (!status || !status->success())
            throw std::runtime_error("restoring etmemd did not exit cleanly");
        return result;
    }

    // utime + stime of a process, from /proc/PID/stat: what the restore cost etmemd itself,
    // whatever else the machine's cores were doing.
    static double cpuMilliseconds(pid_t pid) {
        std::string stat = etmem::test::readFile("/proc/" + std::to_string(pid) + "/stat");
        std::istringstream fields(stat.substr(stat.rfind(')') + 2));
        std::string field;
        unsigned long long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && fields >> field; ++i) {
            if (i == 14) utime = std::stoull(field);
            if (i == 15) stime = std::stoull(field);
        }
        return 1000.0 * static_cast<double>(utime + stime) /
               static_cast<double>(::sysconf(_SC_CLK_TCK));
    }

    // The state file as etmemd writes it (service/state_store.cpp), without its fsyncs.
    static std::string serializeForBench(const etmem::service::SavedProject& saved) {
        std::string config;
        for (char c : saved.configText)
            config += c == '\n' ? std::string("\\n") : std::string(1, c);
        return "name: \"" + saved.name + "\"\nrunning: false\nconfig: \"" + config + "\"\n";
    }

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

    // The call `etmem project show` makes, its reply left unread: what the bus and etmemd
    // cost before the client reads anything.
    void getManagedObjects() {
        auto call =
            root_->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
        auto reply = root_->callMethod(call);
    }

    struct CommandTimes {
        double wall = 0;       // median, us
        double cpu = 0;        // the command's own (user + system), ms
        double daemonCpu = 0;  // etmemd's meanwhile, ms
    };

    // Runs `argv` kShowRuns times; throws if it fails or omits a project.
    CommandTimes timeCommand(const std::vector<std::string>& argv) {
        std::vector<double> samples;
        CommandTimes times;
        for (int run = 0; run < kShowRuns; ++run) {
            const double clientBefore = childrenCpuMilliseconds();
            const double daemonBefore = cpuMilliseconds(daemon_.process().pid());
            auto start = Clock::now();
            auto result = etmem::test::runCommand(argv, bus_.environment(), 120s);
            samples.push_back(microsecondsSince(start));
            times.cpu += (childrenCpuMilliseconds() - clientBefore) / kShowRuns;
            times.daemonCpu +=
                (cpuMilliseconds(daemon_.process().pid()) - daemonBefore) / kShowRuns;
            if (!result.status.success())
                throw std::runtime_error(etmem::test::quoteCommand(argv) +
                                         " failed: " + result.err);
            for (int i : {0, kProjects / 2, kProjects - 1})
                if (result.out.find(projectName(i)) == std::string::npos)
                    throw std::runtime_error(etmem::test::quoteCommand(argv) + " omits " +
                                             projectName(i));
        }
        times.wall = summarize(samples).median;
        return times;
    }

    static void printCommand(const char* what, const CommandTimes& times, double roundTrip,
                             const CommandTimes& busctl) {
        std::printf(
            "  %-27s wall %7.1f ms (%5.1fx round trip, %4.2fx busctl)   CPU %6.1f ms (%4.2fx "
            "busctl), etmemd %5.1f ms\n",
            what, times.wall / 1000, times.wall / roundTrip, times.wall / busctl.wall, times.cpu,
            times.cpu / busctl.cpu, times.daemonCpu);
    }

    // CPU time of the reaped children (the commands run), in ms.
    static double childrenCpuMilliseconds() {
        rusage usage{};
        ::getrusage(RUSAGE_CHILDREN, &usage);
        auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
        return ms(usage.ru_utime) + ms(usage.ru_stime);
    }

    etmem::test::Programs programs_;
    TempDir dir_{"etmem-bench"};
    PrivateBus bus_;
    Process target_;
    Daemon daemon_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<sdbus::IProxy> driver_;
    std::unique_ptr<sdbus::IProxy> manager_;
    std::unique_ptr<sdbus::IProxy> root_;  // the ObjectManager at "/"
    std::vector<std::unique_ptr<sdbus::IProxy>> projects_;
    std::string config_;
};

}  // namespace

int main(int argc, char** argv) {
    if (geteuid() != 0) {
        std::printf("skipped: needs root (only root may own org.openeuler.Etmem)\n");
        return 77;
    }
    const bool reloadOnly = argc > 1 && std::string_view(argv[1]) == "--reload";
    try {
        return reloadOnly ? Bench().runReload() : Bench().run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "benchmark failed: %s\n", e.what());
        return 1;
    }
}
