// etmem against the kernel's own reclaim on a real application (issue 10), run as root in a
// test guest with a swap device: Debian's memcached holding --items values of 4,000 bytes
// (>= 100 MiB), read through libmemcached with Zipfian key popularity. Popularity follows
// recency, as in a cache of recent objects: the most recently stored keys are the most
// popular (--scatter draws popularity at random instead).
//
// One fresh memcached per run, each loaded and warmed the same way, then, with the client's
// traffic going on (for loop x interval seconds, what etmem's cycle watches), one of:
//   none         nothing reclaimed (the throughput baseline);
//   etmem/<s>    one slide cycle (loop 3, interval 2, T 2) with scanner <s>;
//   etmem/<s>/cold_cycles=N  N such cycles with cold_cycles N (--cold-cycles N);
//   reclaim      cgroup v2 memory.reclaim, after the traffic, of the bytes etmem's first run
//                swapped;
//   damon_reclaim DAMON_RECLAIM (min_age 4 s, regions down to ~200 KiB) until it has
//                swapped as much, or 40 s.
// Then --seconds of the same traffic: major faults of memcached, throughput, p99 latency;
// finally every value is read back and compared. Ratios are against the baseline runs of
// this same invocation. Figures go to stdout and $ETMEM_VM_OUT/realapp-bench.txt.
#include <libmemcached/memcached.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etmem/slide/slide_engine.hpp"
#include "proc_stats.hpp"

using namespace etmem;
using namespace etmem::slide;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using bench::majorFaults;
using bench::readLine;
using bench::statusKb;
using bench::writeText;

constexpr std::size_t kValueBytes = 4000;
// A unix socket: the minimal guest has no network (not even lo up), and it is cheaper.
const char* const kSocket = "/run/etmem-realapp-memcached.sock";
const fs::path kCgroup = "/sys/fs/cgroup/etmem-realapp";
const fs::path kDamonReclaim = "/sys/module/damon_reclaim/parameters";

struct Settings {
    std::vector<std::string> scanners;
    std::size_t items = 28000;  // ~110 MiB of values
    int seconds = 20;
    bool scatter = false;
    unsigned loop = 3, interval = 2, threshold = 2;  // the cycle
    unsigned coldCycles = 0;  // > 1: also a run per scanner with cold_cycles N (N cycles)
};

double processCpuSeconds() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

std::string keyOf(std::size_t i) {
    return "key:" + std::to_string(i);
}

// The value stored under key i: deterministic, so every read can be checked.
void valueOf(std::size_t i, std::string& value) {
    value.resize(kValueBytes);
    std::uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
    for (std::size_t at = 0; at < kValueBytes; at += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        std::memcpy(value.data() + at, &x, std::min<std::size_t>(8, kValueBytes - at));
    }
}

// Zipf(0.99) over the keys; rank 0 is the most popular.
class Popularity {
  public:
    Popularity(std::size_t items, bool scatter) : cdf_(items), keyOfRank_(items) {
        double sum = 0;
        for (std::size_t r = 0; r < items; ++r) cdf_[r] = sum += 1.0 / std::pow(r + 1.0, 0.99);
        for (auto& c : cdf_) c /= sum;
        // Recency: the last key stored is the most popular.
        for (std::size_t r = 0; r < items; ++r) keyOfRank_[r] = items - 1 - r;
        if (scatter) std::shuffle(keyOfRank_.begin(), keyOfRank_.end(), std::mt19937_64(3));
    }
    std::size_t draw(std::mt19937_64& random) const {
        double u = std::uniform_real_distribution<double>(0, 1)(random);
        auto r =
            static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
        return keyOfRank_[std::min(r, keyOfRank_.size() - 1)];
    }

  private:
    std::vector<double> cdf_;
    std::vector<std::size_t> keyOfRank_;
};

class Memcached {
  public:
    Memcached() {
        std::filesystem::create_directories(kCgroup);
        pid_ = ::fork();
        if (pid_ == 0) {
            writeText(kCgroup / "cgroup.procs", std::to_string(::getpid()));
            ::execlp("memcached", "memcached", "-u", "root", "-s", kSocket, "-t", "1", "-m", "400",
                     "-c", "64", static_cast<char*>(nullptr));
            std::perror("memcached");
            ::_exit(127);
        }
        client_ = memcached_create(nullptr);
        memcached_server_add_unix_socket(client_, kSocket);
        for (int i = 0; i < 300; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (memcached_set(client_, "ping", 4, "1", 1, 0, 0) == MEMCACHED_SUCCESS) return;
        }
        throw std::runtime_error("memcached did not start");
    }
    ~Memcached() {
        memcached_free(client_);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

    // Stores every value without waiting for replies (noreply), then one acknowledged set
    // marks the end: the server handles a connection's requests in order.
    void load(std::size_t items) {
        memcached_behavior_set(client_, MEMCACHED_BEHAVIOR_NOREPLY, 1);
        std::string value;
        for (std::size_t i = 0; i < items; ++i) {
            valueOf(i, value);
            std::string key = keyOf(i);
            memcached_return_t rc =
                memcached_set(client_, key.data(), key.size(), value.data(), value.size(), 0, 0);
            if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_BUFFERED && rc != MEMCACHED_NOTSTORED)
                throw std::runtime_error("set " + key + ": " +
                                         memcached_last_error_message(client_));
        }
        memcached_behavior_set(client_, MEMCACHED_BEHAVIOR_NOREPLY, 0);
        if (memcached_set(client_, "loaded", 6, "1", 1, 0, 0) != MEMCACHED_SUCCESS)
            throw std::runtime_error(std::string("loading: ") +
                                     memcached_last_error_message(client_));
    }

    // Fetches the values of `items` (distinct keys) in one multi-get and compares each with
    // what was stored; returns how many were missing or wrong.
    std::size_t fetchAndCompare(const std::vector<std::size_t>& items) {
        std::vector<std::string> keys;
        for (std::size_t i : items) keys.push_back(keyOf(i));
        std::vector<const char*> pointers;
        std::vector<std::size_t> lengths;
        for (const auto& key : keys) pointers.push_back(key.data()), lengths.push_back(key.size());
        if (memcached_mget(client_, pointers.data(), lengths.data(), keys.size()) !=
            MEMCACHED_SUCCESS)
            return items.size();
        std::size_t good = 0;
        std::string expected;
        memcached_return_t rc;
        while (memcached_result_st* result = memcached_fetch_result(client_, nullptr, &rc)) {
            std::string key(memcached_result_key_value(result),
                            memcached_result_key_length(result));
            valueOf(std::stoul(key.substr(4)), expected);
            if (memcached_result_length(result) == expected.size() &&
                std::memcmp(memcached_result_value(result), expected.data(), expected.size()) == 0)
                ++good;
            memcached_result_free(result);
        }
        return items.size() - good;
    }

    struct Traffic {
        double keysPerSecond = 0;
        double p99Ms = 0;  // of a request (one multi-get)
        std::size_t bad = 0;
    };
    // The client, for `seconds` or until stop; one caller at a time (one connection). Each
    // request is a multi-get of kKeysPerRequest keys drawn by popularity, as a cache's
    // clients batch their reads; under TCG one key a round trip gives a few hundred reads a
    // second, too few for the popular set to show in a cycle.
    Traffic traffic(const Popularity& popularity, double seconds, std::uint64_t seed,
                    std::stop_token stop = {}) {
        constexpr std::size_t kKeysPerRequest = 16;
        std::mt19937_64 random(seed);
        std::vector<double> latencies;
        std::size_t keys = 0;
        Traffic result;
        auto start = Clock::now();
        auto end = start + std::chrono::duration<double>(seconds);
        std::vector<std::size_t> batch;
        while (Clock::now() < end && !stop.stop_requested()) {
            batch.clear();
            for (std::size_t k = 0; k < kKeysPerRequest; ++k)
                batch.push_back(popularity.draw(random));
            std::sort(batch.begin(), batch.end());
            batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
            auto before = Clock::now();
            result.bad += fetchAndCompare(batch);
            latencies.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - before).count());
            keys += batch.size();
        }
        double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        result.keysPerSecond = keys / elapsed;
        std::sort(latencies.begin(), latencies.end());
        if (!latencies.empty()) result.p99Ms = latencies[latencies.size() * 99 / 100];
        return result;
    }

    // Every value read back (multi-get, 100 keys a round trip) and compared.
    std::size_t verifyAll(std::size_t items) {
        std::size_t bad = 0;
        for (std::size_t first = 0; first < items; first += 100) {
            std::vector<std::size_t> batch;
            for (std::size_t i = first; i < std::min(items, first + 100); ++i) batch.push_back(i);
            bad += fetchAndCompare(batch);
        }
        return bad;
    }

  private:
    pid_t pid_ = -1;
    memcached_st* client_ = nullptr;
};

class QuietLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext&, std::string_view message) override {
        if (level >= LogLevel::Warning)
            std::fprintf(stderr, "engine: %.*s\n", static_cast<int>(message.size()),
                         message.data());
    }
};

struct Run {
    std::string name;
    long rssKb = 0;
    long swappedKb = 0;
    unsigned long long faults = 0;
    Memcached::Traffic traffic;
    double cpuPerCycle = -1;  // etmem only: CPU seconds watching and scanning in the cycle
    std::size_t corrupt = 0;
};

// etmem's slide cycles on memcached: loop 3, interval 2 s, T 2 by default (the issue's);
// `cycles` cycles back to back with cold_cycles = cycles (1: the default semantics). Returns
// the CPU seconds watching and scanning per cycle.
double etmemCycles(pid_t pid, ScannerKind scanner, const Settings& settings, unsigned cycles) {
    ProjectConfig project;
    project.loop = settings.loop;
    project.interval = settings.interval;
    TaskConfig task;
    task.T = settings.threshold;
    task.coldCycles = cycles;
    QuietLogger logger;
    SlideOptions options;
    options.scanner = scanner;
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
    std::vector<Target> targets(1);
    targets[0].pid = pid;
    targets[0].pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    double scanCpu = 0;
    for (unsigned cycle = 1; cycle <= cycles; ++cycle) {
        double cpu = processCpuSeconds();
        engine->beginCycle(targets, std::stop_token{});
        for (unsigned i = 0; i < project.loop; ++i) {
            std::this_thread::sleep_for(std::chrono::seconds(project.interval));
            engine->scan(std::stop_token{});
        }
        const double watchCpu = processCpuSeconds() - cpu;
        scanCpu += watchCpu;
        const double actStart = processCpuSeconds();
        CycleReport report = engine->act(std::stop_token{});
        const double actCpu = processCpuSeconds() - actStart;
        if (!report.error.empty()) std::fprintf(stderr, "etmem: %s\n", report.error.c_str());
        std::printf(
            "  etmem (%s, cycle %u of %u): %llu hot, %llu cold, %llu swapped; CPU %.2f s "
            "watching and scanning, %.2f s classifying and swapping out (zram compression "
            "included)\n",
            report.scanner.c_str(), cycle, cycles, static_cast<unsigned long long>(report.pagesHot),
            static_cast<unsigned long long>(report.pagesCold),
            static_cast<unsigned long long>(report.pagesSwapped), watchCpu, actCpu);
    }
    scanCpu /= cycles;
    return scanCpu;
}

// DAMON_RECLAIM on the whole machine's memory, pageout of regions idle >= min_age, until
// memcached's swap reaches targetKb (or 40 s); then off. Tuned as an operator would for this
// host: regions down to ~200 KiB (1,000..10,000 over the guest's RAM) and min_age 4 s, about
// etmem's cycle. On Debian's 6.12 it reclaims nothing whatever the tuning: its
// damon_reclaim_apply_parameters() puts the scheme and the monitoring attributes on the
// running context, then damon_commit_ctx()s a parameter context that has neither, which
// drops the scheme (its kdamond monitors 10 regions, all idle for minutes, and tries none).
// The run says so when it sees it.
void damonReclaim(pid_t pid, long targetKb) {
    writeText(kDamonReclaim / "min_age", "4000000");
    writeText(kDamonReclaim / "min_nr_regions", "1000");
    writeText(kDamonReclaim / "max_nr_regions", "10000");
    writeText(kDamonReclaim / "quota_ms", "1000");
    writeText(kDamonReclaim / "quota_sz", std::to_string(512L << 20));
    writeText(kDamonReclaim / "wmarks_interval", "100000");
    writeText(kDamonReclaim / "wmarks_high", "1000");
    writeText(kDamonReclaim / "wmarks_mid", "999");
    writeText(kDamonReclaim / "wmarks_low", "0");
    writeText(kDamonReclaim / "enabled", "Y");
    auto started = Clock::now();
    auto deadline = started + std::chrono::seconds(40);
    while (Clock::now() < deadline && statusKb(pid, "VmSwap") < targetKb)
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::printf(
        "  damon_reclaim: kdamond %s, %.1f s; %s regions / %s bytes tried, %s / %s reclaimed, "
        "%s quota exceeds\n",
        readLine(kDamonReclaim / "kdamond_pid").c_str(),
        std::chrono::duration<double>(Clock::now() - started).count(),
        readLine(kDamonReclaim / "nr_reclaim_tried_regions").c_str(),
        readLine(kDamonReclaim / "bytes_reclaim_tried_regions").c_str(),
        readLine(kDamonReclaim / "nr_reclaimed_regions").c_str(),
        readLine(kDamonReclaim / "bytes_reclaimed_regions").c_str(),
        readLine(kDamonReclaim / "nr_quota_exceeds").c_str());
    if (readLine(kDamonReclaim / "nr_reclaim_tried_regions") == "0")
        std::printf(
            "  damon_reclaim tried no region: this kernel's DAMON_RECLAIM commits a context "
            "without its scheme (mm/damon/reclaim.c damon_reclaim_apply_parameters)\n");
    writeText(kDamonReclaim / "enabled", "N");
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--scanner" && i + 1 < argc)
            settings.scanners.push_back(argv[++i]);
        else if (arg == "--items" && i + 1 < argc)
            settings.items = std::stoul(argv[++i]);
        else if (arg == "--seconds" && i + 1 < argc)
            settings.seconds = std::stoi(argv[++i]);
        else if (arg == "--scatter")
            settings.scatter = true;
        else if (arg == "--loop" && i + 1 < argc)
            settings.loop = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "--interval" && i + 1 < argc)
            settings.interval = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "-T" && i + 1 < argc)
            settings.threshold = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "--cold-cycles" && i + 1 < argc)
            settings.coldCycles = static_cast<unsigned>(std::stoul(argv[++i]));
        else {
            std::fprintf(
                stderr,
                "usage: %s --scanner NAME... [--items N] [--seconds S] [--scatter] [--loop N] "
                "[--interval S] [-T N] [--cold-cycles N]\n",
                argv[0]);
            return 2;
        }
    }
    if (readLine("/proc/swaps").empty() || std::ifstream("/proc/swaps").peek() == EOF) {
        std::fprintf(stderr, "realapp-bench: no swap device\n");
        return 2;
    }
    writeText("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
    Popularity popularity(settings.items, settings.scatter);
    const double warmSeconds = 6;

    std::vector<std::string> plan{"none"};
    for (const auto& s : settings.scanners) plan.push_back("etmem/" + s);
    if (settings.coldCycles > 1)
        for (const auto& s : settings.scanners)
            plan.push_back("etmem/" + s + "/cold_cycles=" + std::to_string(settings.coldCycles));
    plan.push_back("reclaim");
    if (fs::exists(kDamonReclaim / "enabled")) plan.push_back("damon_reclaim");

    std::vector<Run> runs;
    long targetKb = 0;
    int failures = 0;
    for (const auto& name : plan) {
        Run run;
        run.name = name;
        Memcached server;
        server.load(settings.items);
        server.traffic(popularity, warmSeconds, 1);
        run.rssKb = statusKb(server.pid(), "VmRSS");
        long swapBefore = statusKb(server.pid(), "VmSwap");
        // The same traffic goes on while etmem watches (or, for the kernel's reclaim, for as
        // long as etmem's cycle watches, before the reclaim): each chooses from the same
        // accesses.
        const double watchSeconds = double(settings.loop) * settings.interval;
        std::jthread client([&](std::stop_token stop) {
            server.traffic(popularity, name == "damon_reclaim" ? 3600 : watchSeconds, 3, stop);
        });
        if (name.rfind("etmem/", 0) == 0) {
            std::string scanner = name.substr(6, name.find('/', 6) - 6);
            unsigned cycles =
                name.find("/cold_cycles=") == std::string::npos ? 1 : settings.coldCycles;
            run.cpuPerCycle =
                etmemCycles(server.pid(), parseScannerKind(scanner), settings, cycles);
        } else if (name == "reclaim") {
            client.join();
            if (targetKb > 0) {
                try {
                    writeText(kCgroup / "memory.reclaim", std::to_string(targetKb * 1024));
                } catch (const std::exception&) {
                    // EAGAIN when it could not reclaim it all: the swapped figure says how much.
                }
            }
        } else if (name == "damon_reclaim") {
            damonReclaim(server.pid(), targetKb);
        }
        client.request_stop();
        if (client.joinable()) client.join();
        run.swappedKb = statusKb(server.pid(), "VmSwap") - swapBefore;
        if (name.rfind("etmem/", 0) == 0 && targetKb == 0) targetKb = run.swappedKb;
        run.swappedKb = std::max(run.swappedKb, 0L);
        unsigned long long faults = majorFaults(server.pid());
        run.traffic = server.traffic(popularity, settings.seconds, 2);
        run.faults = majorFaults(server.pid()) - faults;
        run.corrupt = server.verifyAll(settings.items) + run.traffic.bad;
        failures += run.corrupt != 0;
        std::printf(
            "%-16s rss %ld KiB, swapped %ld KiB, %llu major faults, %.0f keys/s, p99 %.2f ms, "
            "%zu values wrong\n",
            name.c_str(), run.rssKb, run.swappedKb, run.faults, run.traffic.keysPerSecond,
            run.traffic.p99Ms, run.corrupt);
        std::fflush(stdout);
        runs.push_back(run);
    }

    // Baselines: the unswapped run for throughput, kernel reclaim for faults.
    double baseKeys = 0;
    int baseRuns = 0;
    unsigned long long reclaimFaults = 0;
    double reclaimFaultsPerMiB = 0;
    for (const auto& run : runs) {
        if (run.name == "none") baseKeys += run.traffic.keysPerSecond, ++baseRuns;
        if (run.name == "reclaim") reclaimFaults = run.faults;
        if (run.name == "reclaim" && run.swappedKb > 0)
            reclaimFaultsPerMiB = run.faults / (run.swappedKb / 1024.0);
    }
    baseKeys /= std::max(baseRuns, 1);
    std::string table =
        "\n| run | swapped (% of RSS) | major faults (x reclaim) | faults per MiB swapped (x "
        "reclaim) | keys/s (x unswapped) | p99 ms a request | scan CPU s/cycle | values "
        "|\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& run : runs) {
        char line[512];
        const double perMiB = run.swappedKb > 0 ? run.faults / (run.swappedKb / 1024.0) : 0.0;
        std::snprintf(
            line, sizeof line,
            "| %s | %.1f MiB (%.0f%%) | %llu (%.2fx) | %.1f (%.2fx) | %.0f (%.3fx) | %.2f | %s | "
            "%s |\n",
            run.name.c_str(), run.swappedKb / 1024.0,
            run.rssKb > 0 ? 100.0 * run.swappedKb / run.rssKb : 0.0, run.faults,
            reclaimFaults ? double(run.faults) / reclaimFaults : 0.0, perMiB,
            reclaimFaultsPerMiB > 0 ? perMiB / reclaimFaultsPerMiB : 0.0, run.traffic.keysPerSecond,
            baseKeys > 0 ? run.traffic.keysPerSecond / baseKeys : 0, run.traffic.p99Ms,
            run.cpuPerCycle >= 0 ? std::to_string(run.cpuPerCycle).substr(0, 5).c_str() : "-",
            run.corrupt == 0 ? "all intact" : "CORRUPT");
        table += line;
    }
    std::fputs(table.c_str(), stdout);
    if (const char* out = std::getenv("ETMEM_VM_OUT")) {
        std::ofstream file(fs::path(out) / "realapp-bench.txt");
        file << table;
    }
    return failures == 0 ? 0 : 1;
}
