// SPDX-License-Identifier: MulanPSL-2.0
// etmem against the kernel's own reclaim on a real application, run as root in a
// test guest with a swap device: Debian's memcached holding --items values of 4,000 bytes
// (>= 100 MiB), read through libmemcached with Zipfian key popularity. Popularity follows
// recency, as in a cache of recent objects: the most recently stored keys are the most
// popular (--scatter draws popularity at random instead).
//
// One fresh memcached per run, each loaded and warmed the same way, then, with the client's
// traffic going on (for loop x interval seconds, what etmem's cycle watches), one of:
//   none         nothing reclaimed (the throughput baseline), and none_again last, the
//                same again: how far the baseline drifts within one invocation;
//   etmem/<s>    one slide cycle (loop 3, interval 2, T 2) with scanner <s>;
//   etmem/<s>/cold_cycles=N  N such cycles with cold_cycles N (--cold-cycles N);
//   reclaim      cgroup v2 memory.reclaim, after the traffic, of the bytes etmem's first run
//                swapped;
//   all_out      every anonymous page paged out, then the same traffic: what the next
//                seconds touch, so the fewest faults any choice of the same bytes could
//                cost (see FaultFloor);
//   damos_paddr  a DAMOS pageout scheme on physical memory with memcg and young filters,
//                built through DAMON's sysfs, until it has swapped as much, or 40 s;
//   damon_reclaim DAMON_RECLAIM (min_age 4 s, regions down to ~200 KiB) until it has
//                swapped as much, or 40 s.
// Then --seconds of the same traffic: major faults of memcached, throughput, p99 latency;
// finally every value is read back and compared. Ratios are against the baseline runs of
// this same invocation. Figures go to stdout and $ETMEM_VM_OUT/realapp-bench.txt.
#include <fcntl.h>
#include <libmemcached/memcached.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "etmem/slide/slide_engine.hpp"
#include "proc_stats.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

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
    double readShare = 1.0;  // --read-share: the share of keys the clients read
    unsigned loop = 3, interval = 2, threshold = 2;  // the cycle
    unsigned coldCycles = 0;  // > 1: also a run per scanner with cold_cycles N (N cycles)
};

double cpuSeconds(clockid_t clock) {
    timespec now{};
    ::clock_gettime(clock, &now);
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

// Zipf(0.99) over the keys the clients read, the first `readShare` of them by rank; rank 0
// is the most popular. The rest are stored and never read until the final check.
class Popularity {
  public:
    Popularity(std::size_t items, bool scatter, double readShare)
        : cdf_(std::max<std::size_t>(1, static_cast<std::size_t>(items * readShare))),
          keyOfRank_(items) {
        double sum = 0;
        for (std::size_t r = 0; r < cdf_.size(); ++r)
            cdf_[r] = sum += 1.0 / std::pow(r + 1.0, 0.99);
        for (auto& c : cdf_) c /= sum;
        // Recency: the last key stored is the most popular.
        for (std::size_t r = 0; r < items; ++r) keyOfRank_[r] = items - 1 - r;
        if (scatter) std::shuffle(keyOfRank_.begin(), keyOfRank_.end(), std::mt19937_64(3));
    }
    std::size_t draw(std::mt19937_64& random) const {
        double u = std::uniform_real_distribution<double>(0, 1)(random);
        auto r =
            static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
        return keyOfRank_[std::min(r, cdf_.size() - 1)];
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
        std::size_t keys = 0;
        double keysPerSecond = 0;
        double p99Ms = 0;  // of a request (one multi-get)
        std::size_t bad = 0;
    };
    // The client, for `seconds` or until stop; one caller at a time (one connection). Each
    // request is a multi-get of kKeysPerRequest keys drawn by popularity, as a cache's
    // clients batch their reads; under TCG one key a round trip gives a few hundred reads a
    // second, too few for the popular set to show in a cycle. A seed draws the same keys in
    // the same order every time; `maxKeys` ends it early, and `afterRequest` is told the keys
    // fetched so far after each request.
    Traffic traffic(const Popularity& popularity, double seconds, std::uint64_t seed,
                    std::stop_token stop = {},
                    std::size_t maxKeys = std::numeric_limits<std::size_t>::max(),
                    const std::function<void(std::size_t)>& afterRequest = {}) {
        constexpr std::size_t kKeysPerRequest = 16;
        std::mt19937_64 random(seed);
        std::vector<double> latencies;
        std::size_t keys = 0;
        Traffic result;
        auto start = Clock::now();
        auto end = start + std::chrono::duration<double>(seconds);
        std::vector<std::size_t> batch;
        while (Clock::now() < end && !stop.stop_requested() && keys < maxKeys) {
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
            if (afterRequest) afterRequest(keys);
        }
        result.keys = keys;
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

// A process's major faults, read cheaply enough to note after every request: one open
// /proc/PID/stat read again in place.
class FaultReader {
  public:
    explicit FaultReader(pid_t pid)
        : fd_(::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC)) {}
    unsigned long long read() const {
        char buffer[1024];
        ssize_t got = ::pread(fd_.get(), buffer, sizeof buffer - 1, 0);
        if (got <= 0) return 0;
        buffer[got] = 0;
        const char* at = std::strrchr(buffer, ')');
        // After the command come state (field 3) .. majflt (field 12).
        for (int field = 2; at != nullptr && field < 12; ++field) at = std::strchr(at + 1, ' ');
        return at != nullptr ? std::strtoull(at + 1, nullptr, 10) : 0;
    }

  private:
    UniqueFd fd_;
};

// Major faults against keys fetched, noted after each request of a measured traffic. The
// keys come in the same order in every run (one seed), so two runs compared at the same
// number of keys saw the same requests, however fast each went.
class FaultCurve {
  public:
    void note(std::size_t keys, double seconds, unsigned long long faults) {
        points_.push_back({keys, seconds, faults});
    }
    bool empty() const { return points_.empty(); }
    // The faults once `keys` keys were fetched, and the seconds it took; the last point's
    // if the traffic never got that far.
    unsigned long long faultsBy(std::size_t keys) const { return pointAt(keys).faults; }
    double secondsTo(std::size_t keys) const { return pointAt(keys).seconds; }

  private:
    struct Point {
        std::size_t keys = 0;
        double seconds = 0;
        unsigned long long faults = 0;
    };
    // The first point with at least `keys` keys (points are noted in order of keys).
    Point pointAt(std::size_t keys) const {
        if (points_.empty()) return {};
        auto at = std::partition_point(points_.begin(), points_.end(),
                                       [keys](const Point& point) { return point.keys < keys; });
        return at != points_.end() ? *at : points_.back();
    }
    std::vector<Point> points_;
};

struct Run {
    std::string name;
    long rssKb = 0;
    long swappedKb = 0;
    unsigned long long faults = 0;  // in the measured seconds
    FaultCurve curve;
    Memcached::Traffic traffic;
    double cpuPerCycle = -1;  // etmem only: its CPU seconds watching and scanning in a cycle
    std::size_t corrupt = 0;
};

// etmem's slide cycles on memcached: loop 3, interval 2 s, T 2 by default (the issue's);
// `cycles` cycles back to back with cold_cycles = cycles (1: the default semantics). Returns
// the CPU seconds watching and scanning per cycle: this process's (the engine and its
// threads), less the client's thread (`clientClock`), which runs the traffic meanwhile.
double etmemCycles(pid_t pid, ScannerChoice scanner, const Settings& settings, unsigned cycles,
                   clockid_t clientClock) {
    const auto etmemCpu = [clientClock] {
        return cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpuSeconds(clientClock);
    };
    ProjectConfig project;
    project.loop = settings.loop;
    project.interval = settings.interval;
    TaskConfig task;
    task.slide.T = settings.threshold;
    task.slide.coldCycles = cycles;
    QuietLogger logger;
    SlideOptions options;
    options.scanner = scanner;
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
    std::vector<Target> targets(1);
    targets[0].pid = pid;
    targets[0].pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    double scanCpu = 0;
    for (unsigned cycle = 1; cycle <= cycles; ++cycle) {
        double cpu = etmemCpu();
        engine->beginCycle(targets, std::stop_token{});
        for (unsigned i = 0; i < project.loop; ++i) {
            std::this_thread::sleep_for(std::chrono::seconds(project.interval));
            engine->scan(std::stop_token{});
        }
        const double watchCpu = etmemCpu() - cpu;
        scanCpu += watchCpu;
        const double actStart = etmemCpu();
        CycleReport report = engine->act(std::stop_token{});
        const double actCpu = etmemCpu() - actStart;
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

// Until `pid` has targetKb swapped, or 40 s; the seconds it took.
double waitForSwap(pid_t pid, long targetKb) {
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::seconds(40);
    while (Clock::now() < deadline && statusKb(pid, "VmSwap") < targetKb)
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return std::chrono::duration<double>(Clock::now() - started).count();
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
    const double seconds = waitForSwap(pid, targetKb);
    std::printf(
        "  damon_reclaim: kdamond %s, %.1f s; %s regions / %s bytes tried, %s / %s reclaimed, "
        "%s quota exceeds\n",
        readLine(kDamonReclaim / "kdamond_pid").c_str(), seconds,
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

// The largest "System RAM" range of /proc/iomem, [start, end): DAMON's paddr operations
// watch only the regions they are given, and this is what DAMON_RECLAIM picks.
std::pair<unsigned long long, unsigned long long> largestSystemRam() {
    std::ifstream iomem("/proc/iomem");
    std::string line;
    std::pair<unsigned long long, unsigned long long> best{0, 0};
    while (std::getline(iomem, line)) {
        if (line.empty() || line[0] == ' ' || line.find(": System RAM") == std::string::npos)
            continue;
        const auto dash = line.find('-');
        const auto start = std::stoull(line.substr(0, dash), nullptr, 16);
        const auto end = std::stoull(line.substr(dash + 1), nullptr, 16) + 1;
        if (end - start > best.second - best.first) best = {start, end};
    }
    return best;
}

// A DAMOS pageout scheme built through DAMON's sysfs on the physical address space, what an
// operator can run where DAMON_RECLAIM does nothing: regions idle for >= 4 s (as
// damon_reclaim's min_age above) are paged out, page by page only those of memcached's
// cgroup (a memcg filter) and not accessed since the last check (a young filter: the
// page-granular help Debian's 6.12 offers). Until memcached's swap reaches targetKb, or 40 s.
void damosPaddrPageout(pid_t pid, long targetKb) {
    const fs::path kdamonds = "/sys/kernel/mm/damon/admin/kdamonds";
    writeText(kdamonds / "nr_kdamonds", "1");
    const fs::path context = kdamonds / "0/contexts/0";
    writeText(kdamonds / "0/contexts/nr_contexts", "1");
    writeText(context / "operations", "paddr");
    writeText(context / "monitoring_attrs/intervals/sample_us", "5000");
    writeText(context / "monitoring_attrs/intervals/aggr_us", "100000");
    writeText(context / "monitoring_attrs/intervals/update_us", "1000000");
    writeText(context / "monitoring_attrs/nr_regions/min", "1000");
    writeText(context / "monitoring_attrs/nr_regions/max", "10000");
    writeText(context / "targets/nr_targets", "1");
    const auto [ramStart, ramEnd] = largestSystemRam();
    writeText(context / "targets/0/regions/nr_regions", "1");
    writeText(context / "targets/0/regions/0/start", std::to_string(ramStart));
    writeText(context / "targets/0/regions/0/end", std::to_string(ramEnd));
    writeText(context / "schemes/nr_schemes", "1");
    const fs::path scheme = context / "schemes/0";
    writeText(scheme / "action", "pageout");
    writeText(scheme / "access_pattern/nr_accesses/min", "0");
    writeText(scheme / "access_pattern/nr_accesses/max", "0");
    // Every bound has to be written: sysfs starts them at 0, which matches no region.
    writeText(scheme / "access_pattern/age/min", "40");  // aggregation intervals: 4 s
    writeText(scheme / "access_pattern/age/max", std::to_string(~0u));
    writeText(scheme / "access_pattern/sz/min", "0");
    writeText(scheme / "access_pattern/sz/max", std::to_string(~0ul));
    writeText(scheme / "quotas/ms", "1000");
    writeText(scheme / "quotas/bytes", std::to_string(512L << 20));
    writeText(scheme / "quotas/reset_interval_ms", "1000");
    writeText(scheme / "filters/nr_filters", "2");
    // A filter excludes what matches when `matching` is Y: pages outside the cgroup are left
    // alone, and so are young ones.
    writeText(scheme / "filters/0/type", "memcg");
    writeText(scheme / "filters/0/memcg_path", "/" + kCgroup.filename().string());
    writeText(scheme / "filters/0/matching", "N");
    writeText(scheme / "filters/1/type", "young");
    writeText(scheme / "filters/1/matching", "Y");
    writeText(kdamonds / "0/state", "on");
    const double seconds = waitForSwap(pid, targetKb);
    writeText(kdamonds / "0/state", "update_schemes_stats");
    std::printf("  damos_paddr: %.1f s; %s regions / %s bytes tried, %s bytes applied\n", seconds,
                readLine(scheme / "stats/nr_tried").c_str(),
                readLine(scheme / "stats/sz_tried").c_str(),
                readLine(scheme / "stats/sz_applied").c_str());
    writeText(kdamonds / "0/state", "off");
    writeText(kdamonds / "nr_kdamonds", "0");
}

// Pages out every anonymous page of `pid` (MADV_PAGEOUT through its pidfd, mapping by
// mapping); file pages stay, as they do for etmem. Returns false if the kernel refused.
bool pageOutAllAnonymous(pid_t pid) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    bool refused = false;
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, perms, offset, device, inode, path;
        fields >> range >> perms >> offset >> device >> inode;
        std::getline(fields >> std::ws, path);
        bool anonymous =
            inode == "0" && (path.empty() || path == "[heap]" || path.rfind("[stack", 0) == 0 ||
                             path.rfind("[anon", 0) == 0);
        if (!anonymous) continue;
        const auto dash = range.find('-');
        const auto start = std::stoull(range.substr(0, dash), nullptr, 16);
        const auto end = std::stoull(range.substr(dash + 1), nullptr, 16);
        iovec span{reinterpret_cast<void*>(start), end - start};
        if (::syscall(SYS_process_madvise, pidfd.get(), &span, 1, MADV_PAGEOUT, 0) < 0)
            refused = true;
    }
    return !refused;
}

// The fewest major faults any choice of the same pages could have cost (Belady's bound).
// The all_out run pages out every anonymous page of memcached, then has the same measured
// traffic as every run (the same seed draws the same keys in the same order, for the same
// seconds), noting the faults as the keys go. A swapped page that is touched faults once;
// the pages never touched are the only ones a chooser can swap for free. So a run that
// swapped S pages faulted in its first K keys at least S - (all_out's pages - all_out's
// faults after K keys), or 0. Memcached's own threads (its LRU maintainer and crawler) touch
// items too, by time rather than by request, so the floor holds strictly for a run that took
// no less time to its K keys than all_out did; a quicker one had fewer of those touches.
class FaultFloor {
  public:
    FaultFloor(long swappedKb, FaultCurve replay)
        : swappedPages_(swappedKb / 4), replay_(std::move(replay)) {}
    FaultFloor() = default;
    bool known() const { return swappedPages_ > 0 && !replay_.empty(); }
    long swappedPages() const { return swappedPages_; }
    // The pages of all_out's the first `keys` keys touch, and those they leave untouched.
    unsigned long long touchedPages(std::size_t keys) const { return replay_.faultsBy(keys); }
    long untouchedPages(std::size_t keys) const {
        return std::max(0L, swappedPages_ - static_cast<long>(touchedPages(keys)));
    }
    unsigned long long floorFor(long swappedKb, std::size_t keys) const {
        return static_cast<unsigned long long>(
            std::max(0L, std::min(swappedKb / 4, swappedPages_) - untouchedPages(keys)));
    }

  private:
    long swappedPages_ = 0;
    FaultCurve replay_;
};

const Run* findRun(const std::vector<Run>& runs, std::string_view name) {
    for (const auto& run : runs)
        if (run.name == name) return &run;
    return nullptr;
}

FaultFloor floorOf(const std::vector<Run>& runs) {
    const Run* allOut = findRun(runs, "all_out");
    return allOut ? FaultFloor(allOut->swappedKb, allOut->curve) : FaultFloor();
}

// The keys every run's measured traffic got through: faults compared over these saw the
// same requests (a run that faults more is slower, and would be flattered by a time window).
std::size_t commonKeys(const std::vector<Run>& runs) {
    std::size_t keys = std::numeric_limits<std::size_t>::max();
    for (const auto& run : runs) keys = std::min(keys, run.traffic.keys);
    return keys;
}

std::string resultTable(const std::vector<Run>& runs, int seconds) {
    const FaultFloor floor = floorOf(runs);
    const std::size_t keys = commonKeys(runs);
    const Run* none = findRun(runs, "none");
    const Run* reclaim = findRun(runs, "reclaim");
    const double baseKeys = none ? none->traffic.keysPerSecond : 0;
    const auto perMiB = [keys](const Run& run) {
        return run.swappedKb > 0 ? run.curve.faultsBy(keys) / (run.swappedKb / 1024.0) : 0.0;
    };
    const double reclaimFaults = reclaim ? double(reclaim->curve.faultsBy(keys)) : 0;
    const double reclaimPerMiB = reclaim ? perMiB(*reclaim) : 0;
    const auto ratio = [](double value, double base) { return base > 0 ? value / base : 0.0; };
    std::string table = fmt::format(
        "\n| run | swapped (% of RSS) | major faults in {} s | keys/s (x unswapped) | p99 ms a "
        "request | faults in the first {} keys (x reclaim) | per MiB swapped (x reclaim) | "
        "all_out's bound (x) | scan CPU s/cycle | values |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n",
        seconds, keys);
    for (const auto& run : runs) {
        const unsigned long long faults = run.curve.faultsBy(keys);
        // By keys alone: all_out got there in at most the measured seconds, and any touches of
        // memcached's own in that time count against a run that got there sooner.
        const unsigned long long fewest = floor.floorFor(run.swappedKb, keys);
        table += fmt::format(
            "| {} | {:.1f} MiB ({:.0f}%) | {} | {:.0f} ({:.3f}x) | {:.2f} | {} ({:.2f}x) | "
            "{:.1f} ({:.2f}x) | {} | {} | {} |\n",
            run.name, run.swappedKb / 1024.0, ratio(100.0 * run.swappedKb, run.rssKb), run.faults,
            run.traffic.keysPerSecond, ratio(run.traffic.keysPerSecond, baseKeys),
            run.traffic.p99Ms, faults, ratio(double(faults), reclaimFaults), perMiB(run),
            ratio(perMiB(run), reclaimPerMiB),
            floor.known() ? fmt::format("{} ({:.2f}x)", fewest, ratio(double(faults), fewest))
                          : "-",
            run.cpuPerCycle >= 0 ? fmt::format("{:.2f}", run.cpuPerCycle) : "-",
            run.corrupt == 0 ? "all intact" : "CORRUPT");
    }
    return table;
}

// What the goal (>= 70% of RSS out at <= 0.1x the reclaim's faults) asks, against
// the fewest faults any choice could cost on this workload (the all_out run's replay).
std::string goalAgainstFloor(const std::vector<Run>& runs) {
    const FaultFloor floor = floorOf(runs);
    const Run* none = findRun(runs, "none");
    if (!floor.known() || none == nullptr) return "\nno fault floor: all_out swapped nothing\n";
    // Over the keys every run got through (all_out's, the slowest, in the same seconds).
    const std::size_t keys = commonKeys(runs);
    const long pages = floor.swappedPages();
    std::string text = fmt::format(
        "\nall_out: every anonymous page out ({} pages); the first {} keys touched {} of them "
        "({:.0f}%): {} pages could go out and never fault\n",
        pages, keys, floor.touchedPages(keys), 100.0 * double(floor.touchedPages(keys)) / pages,
        floor.untouchedPages(keys));
    const long goalKb = none->rssKb * 7 / 10;
    const auto goalFloor = floor.floorFor(goalKb, keys);
    if (goalFloor == 0)
        text += fmt::format(
            "70% of RSS out ({:.1f} MiB) fits among the pages those keys never touched: chosen "
            "at best, it need cost no fault (unless memcached's own threads touched them)\n",
            goalKb / 1024.0);
    else
        text += fmt::format(
            "70% of RSS out ({:.1f} MiB), chosen at best, faults at least {} times in those "
            "keys ({:.3f} a page swapped)\n",
            goalKb / 1024.0, goalFloor, double(goalFloor) / double(goalKb / 4));
    // The goal in the terms it is set: against the reclaim's faults. The bound for the
    // reclaim's bytes is strict when its run took no less time to those keys than all_out did
    // (else memcached's own touches in all_out's extra seconds count against the reclaim);
    // a bound of 0 is strict whatever the times.
    const Run* reclaim = findRun(runs, "reclaim");
    const Run* allOut = findRun(runs, "all_out");
    if (reclaim != nullptr && reclaim->curve.faultsBy(keys) > 0) {
        const auto reclaimFaults = reclaim->curve.faultsBy(keys);
        const auto atBest = [reclaimFaults](unsigned long long faults) {
            return faults == 0 ? std::string("need cost no fault")
                               : fmt::format("cost at least {} ({:.2f}x the reclaim's)", faults,
                                             double(faults) / double(reclaimFaults));
        };
        const auto best = floor.floorFor(reclaim->swappedKb, keys);
        const bool strict =
            best == 0 || reclaim->curve.secondsTo(keys) >= allOut->curve.secondsTo(keys);
        text += fmt::format(
            "the reclaim's {:.1f} MiB ({:.0f}% of RSS) faulted {} times in those keys; as many "
            "bytes, chosen at best, {}{}\n",
            reclaim->swappedKb / 1024.0, 100.0 * reclaim->swappedKb / reclaim->rssKb, reclaimFaults,
            atBest(best),
            strict ? ""
                   : fmt::format(" (less if memcached's own threads touched some in the {:.1f} s "
                                 "all_out took longer)",
                                 allOut->curve.secondsTo(keys) - reclaim->curve.secondsTo(keys)));
        // Its cheapest form is exactly 70% out.
        const double goalBound = double(goalFloor) / double(reclaimFaults);
        text += fmt::format(
            "the goal, >= 70% of RSS out at <= 0.10x the reclaim's faults: 70% out, chosen at "
            "best, {}: {}\n",
            atBest(goalFloor),
            goalBound <= 0.1 ? "within reach on this workload" : "out of reach on this workload");
    }
    return text;
}

// The goal's "throughput within 5% of an unswapped run", judged against the drift of the
// unswapped runs themselves: one first and one last. Under TCG two runs of the same traffic
// can differ by more than 5%; then no run can be judged within 5% of them.
std::string throughputAgainstDrift(const std::vector<Run>& runs) {
    const Run* first = findRun(runs, "none");
    const Run* last = findRun(runs, "none_again");
    if (first == nullptr || last == nullptr) return {};
    const double a = first->traffic.keysPerSecond, b = last->traffic.keysPerSecond;
    const double mean = (a + b) / 2;
    if (mean <= 0) return {};
    const double drift = std::abs(a - b) / mean;
    double lowest = std::numeric_limits<double>::max(), highest = 0;
    for (const auto& run : runs) {
        if (run.name.rfind("etmem/", 0) != 0) continue;
        lowest = std::min(lowest, run.traffic.keysPerSecond / mean);
        highest = std::max(highest, run.traffic.keysPerSecond / mean);
    }
    std::string text = fmt::format("unswapped: {:.0f} keys/s first, {:.0f} last, {:.1f}% apart", a,
                                   b, 100 * drift);
    if (highest == 0) return text + "\n";
    text += fmt::format("; etmem's runs {:.3f}x..{:.3f}x their mean: ", lowest, highest);
    if (drift > 0.05)
        return text +
               "the baseline itself drifts by more than 5%, so within 5% cannot be judged "
               "in this run\n";
    return text + (lowest >= 0.95 ? "within 5%\n" : "not within 5%\n");
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
        else if (arg == "--read-share" && i + 1 < argc)
            settings.readShare = std::stod(argv[++i]);
        else if (arg == "--loop" && i + 1 < argc)
            settings.loop = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "--interval" && i + 1 < argc)
            settings.interval = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "-T" && i + 1 < argc)
            settings.threshold = static_cast<unsigned>(std::stoul(argv[++i]));
        else if (arg == "--cold-cycles" && i + 1 < argc)
            settings.coldCycles = static_cast<unsigned>(std::stoul(argv[++i]));
        else {
            std::fprintf(stderr,
                         "usage: %s --scanner NAME... [--items N] [--seconds S] [--scatter] "
                         "[--read-share F] "
                         "[--loop N] "
                         "[--interval S] [-T N] [--cold-cycles N]\n",
                         argv[0]);
            return 2;
        }
    }
    if (!(settings.readShare > 0 && settings.readShare <= 1)) {
        std::fprintf(stderr, "realapp-bench: --read-share must be in (0, 1]\n");
        return 2;
    }
    std::printf(
        "memcached: %zu values of %zu bytes; clients read %.0f%% of the keys, Zipf(0.99)%s\n",
        settings.items, kValueBytes, 100 * settings.readShare,
        settings.scatter ? ", popularity scattered" : ", the most recent the most popular");
    if (readLine("/proc/swaps").empty() || std::ifstream("/proc/swaps").peek() == EOF) {
        std::fprintf(stderr, "realapp-bench: no swap device\n");
        return 2;
    }
    writeText("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
    Popularity popularity(settings.items, settings.scatter, settings.readShare);
    const double warmSeconds = 6;

    std::vector<std::string> plan{"none", "all_out"};
    for (const auto& s : settings.scanners) plan.push_back("etmem/" + s);
    if (settings.coldCycles > 1)
        for (const auto& s : settings.scanners)
            plan.push_back("etmem/" + s + "/cold_cycles=" + std::to_string(settings.coldCycles));
    plan.push_back("reclaim");
    if (fs::exists("/sys/kernel/mm/damon/admin/kdamonds")) plan.push_back("damos_paddr");
    if (fs::exists(kDamonReclaim / "enabled")) plan.push_back("damon_reclaim");
    // Unswapped again, last: how far the baseline drifts within one invocation.
    plan.push_back("none_again");

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
        // etmem's and DAMON's runs have the traffic for as long as they watch (several cycles
        // with cold_cycles); the others for one cycle's watch, before they act.
        const bool watchesItself = name.rfind("etmem/", 0) == 0 || name.rfind("damo", 0) == 0;
        std::jthread client([&](std::stop_token stop) {
            server.traffic(popularity, watchesItself ? 3600 : watchSeconds, 3, stop);
        });
        if (!watchesItself) client.join();
        if (name.rfind("etmem/", 0) == 0) {
            std::string scanner = name.substr(6, name.find('/', 6) - 6);
            unsigned cycles =
                name.find("/cold_cycles=") == std::string::npos ? 1 : settings.coldCycles;
            clockid_t clientClock{};
            if (::pthread_getcpuclockid(client.native_handle(), &clientClock) != 0)
                throw std::runtime_error("no CPU clock for the client thread");
            run.cpuPerCycle = etmemCycles(server.pid(), parseScannerChoice(scanner), settings,
                                          cycles, clientClock);
        } else if (name == "all_out") {
            if (!pageOutAllAnonymous(server.pid()))
                std::printf("  all_out: the kernel refused MADV_PAGEOUT of a mapping\n");
        } else if (name == "reclaim") {
            if (targetKb > 0) {
                try {
                    writeText(kCgroup / "memory.reclaim", std::to_string(targetKb * 1024));
                } catch (const std::exception&) {
                    // EAGAIN when it could not reclaim it all: the swapped figure says how much.
                }
            }
        } else if (name == "damos_paddr") {
            damosPaddrPageout(server.pid(), targetKb);
        } else if (name == "damon_reclaim") {
            damonReclaim(server.pid(), targetKb);
        }
        client.request_stop();
        if (client.joinable()) client.join();
        run.swappedKb = statusKb(server.pid(), "VmSwap") - swapBefore;
        if (name.rfind("etmem/", 0) == 0 && targetKb == 0) targetKb = run.swappedKb;
        run.swappedKb = std::max(run.swappedKb, 0L);
        const FaultReader faultReader(server.pid());
        const unsigned long long faults = faultReader.read();
        const auto started = Clock::now();
        const auto noteFaults = [&](std::size_t keys) {
            run.curve.note(keys, std::chrono::duration<double>(Clock::now() - started).count(),
                           faultReader.read() - faults);
        };
        run.traffic = server.traffic(popularity, settings.seconds, 2, {},
                                     std::numeric_limits<std::size_t>::max(), noteFaults);
        run.faults = faultReader.read() - faults;
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

    std::string table = resultTable(runs, settings.seconds);
    table += goalAgainstFloor(runs);
    table += throughputAgainstDrift(runs);
    std::fputs(table.c_str(), stdout);
    if (const char* out = std::getenv("ETMEM_VM_OUT")) {
        std::ofstream file(fs::path(out) / "realapp-bench.txt");
        file << table;
    }
    return failures == 0 ? 0 : 1;
}
