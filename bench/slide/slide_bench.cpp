// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's benchmark, run as root in a test guest with a swap device:
//  1. selection quality: etmem's cycle vs the kernel's own reclaim (cgroup v2 memory.reclaim
//     of the same number of bytes) on the same workload: cold-swapped %, hot-swapped %, and
//     the workload's major faults over the same time afterwards;
//  2. scan cost: CPU seconds per scan round per GiB resident, against a minimal loop making
//     the same kernel reads (pagemap + page_idle bitmap, bitmap moved in 4 KiB chunks);
//  3. the engine's memory per GiB scanned (peak RSS growth of this process during a cycle).
// Figures go to stdout and, in the guest, to $ETMEM_VM_OUT/slide-bench.txt.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etmem/kernel/idle_bitmap.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "proc_stats.hpp"
#include "workload_client.hpp"

using namespace etmem;
using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::slide;
namespace fs = std::filesystem;

namespace {

using bench::majorFaults;
using bench::readLine;
using bench::statusKb;
using bench::writeText;

struct Settings {
    std::string workload = "etmem-workload";
    ScannerChoice scanner = ScannerChoice::automatic();
    std::size_t hotPages = 2048;    // 8 MiB
    std::size_t coldPages = 30720;  // 120 MiB
    std::size_t scanPages = 65536;  // 256 MiB for the scan-cost part
    int runSeconds = 10;
    unsigned loop = 3;
    unsigned threshold = 4;
    std::string part = "quality";  // quality (parts 1-3) or resident (part 4)
    std::size_t maxResidentMiB = 1024;
    std::size_t targets = 200;
};

double threadCpuSeconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

// etmem-workload from the settings, with the benchmark's seed; `cgroup`, if given, is
// joined before the first allocation so every page is charged to it.
class Workload : public test::WorkloadProcess {
  public:
    Workload(const Settings& settings, std::size_t hot, std::size_t cold,
             const fs::path& cgroup = {})
        : WorkloadProcess(options(settings, hot, cold, cgroup)) {}

  private:
    static test::WorkloadOptions options(const Settings& settings, std::size_t hot,
                                         std::size_t cold, const fs::path& cgroup) {
        test::WorkloadOptions options;
        options.program = settings.workload;
        options.hotPages = hot;
        options.coldPages = cold;
        options.seed = 7;
        options.cgroup = cgroup;
        options.layoutTimeout = std::chrono::seconds(120);
        return options;
    }
};

class QuietLogger final : public Logger {
  public:
    void log(LogLevel level, const LogContext&, std::string_view message) override {
        if (level >= LogLevel::Warning)
            std::fprintf(stderr, "engine: %.*s\n", static_cast<int>(message.size()),
                         message.data());
    }
};

// Prints figures and keeps them for the output file.
class Figures {
  public:
    template <typename... Args>
    void operator()(const char* format, Args... args) {
        char line[512];
        std::snprintf(line, sizeof line, format, args...);
        std::fputs(line, stdout);
        text += line;
    }
    std::string text;
};

struct CycleFigures {
    CycleReport report;
    double scanCpuSeconds = 0;  // all scan() rounds together
    long peakGrowthKb = 0;
};

CycleFigures runCycle(const Settings& settings, const Workload& workload) {
    ProjectConfig project;
    project.loop = settings.loop;
    TaskConfig task;
    task.slide.T = settings.threshold;
    QuietLogger logger;
    SlideOptions options;
    options.scanner = settings.scanner;
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
    std::vector<Target> targets;
    targets.push_back(workload.target());
    writeText("/proc/self/clear_refs", "5");  // reset VmHWM
    long rssBefore = statusKb(0, "VmRSS");
    CycleFigures figures;
    engine->beginCycle(targets, std::stop_token{});
    for (unsigned i = 0; i < settings.loop; ++i) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        double start = threadCpuSeconds();
        engine->scan(std::stop_token{});
        figures.scanCpuSeconds += threadCpuSeconds() - start;
    }
    figures.report = engine->act(std::stop_token{});
    figures.peakGrowthKb = statusKb(0, "VmHWM") - rssBefore;
    return figures;
}

// The minimal loop: read pagemap in chunks, set the bits of every present PFN into words,
// read and write the bitmap 4 KiB at a time where a chunk holds a bit.
double minimalRoundCpuSeconds(const Workload& workload) {
    double start = threadCpuSeconds();
    UniqueFd pagemap(
        ::open(("/proc/" + std::to_string(workload.pid()) + "/pagemap").c_str(), O_RDONLY));
    UniqueFd bitmap(::open("/sys/kernel/mm/page_idle/bitmap", O_RDWR));
    std::vector<std::uint64_t> words;
    std::vector<std::uint64_t> entries(4096);
    for (std::uint64_t address = workload.base;
         address < workload.base + workload.pages * kPageSize;) {
        std::size_t count = std::min<std::size_t>(
            entries.size(), (workload.base + workload.pages * kPageSize - address) / kPageSize);
        ssize_t got = ::pread(pagemap.get(), entries.data(), count * 8,
                              static_cast<off_t>(address / kPageSize * 8));
        if (got <= 0) break;
        for (std::size_t i = 0; i < static_cast<std::size_t>(got) / 8; ++i) {
            if (!(entries[i] >> 63)) continue;
            std::uint64_t pfn = entries[i] & ((1ull << 55) - 1);
            if (words.size() <= pfn / 64) words.resize(pfn / 64 + 1, 0);
            words[pfn / 64] |= 1ull << (pfn % 64);
        }
        address += static_cast<std::uint64_t>(got) / 8 * kPageSize;
    }
    std::vector<std::uint64_t> chunk(512);
    for (std::size_t first = 0; first < words.size(); first += 512) {
        std::size_t n = std::min<std::size_t>(512, words.size() - first);
        if (std::all_of(words.begin() + first, words.begin() + first + n,
                        [](auto w) { return w == 0; }))
            continue;
        ssize_t ignored = ::pread(bitmap.get(), chunk.data(), n * 8, static_cast<off_t>(first * 8));
        ignored =
            ::pwrite(bitmap.get(), words.data() + first, n * 8, static_cast<off_t>(first * 8));
        (void)ignored;
    }
    return threadCpuSeconds() - start;
}

fs::path makeCgroup() {
    fs::path root = "/sys/fs/cgroup";
    if (!fs::exists(root / "cgroup.controllers"))
        ::mount("none", root.c_str(), "cgroup2", 0, nullptr);
    writeText(root / "cgroup.subtree_control", "+memory");
    fs::path group = root / "etmem-bench";
    fs::create_directories(group);
    return group;
}

// ---- 4. Cost follows what is resident ------------------------------------------------

double processCpuSeconds() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

// The median over rounds of engine / floor, each pair measured back to back: steadier than
// the ratio of the medians when the host's load changes during a point.
double medianRoundRatio(const std::vector<double>& engine, const std::vector<double>& floor) {
    std::vector<double> ratios;
    for (std::size_t i = 0; i < std::min(engine.size(), floor.size()); ++i)
        if (floor[i] > 0) ratios.push_back(engine[i] / floor[i]);
    return median(ratios);
}

// Children of this process, each holding `pages` written private pages in a reservation of
// `reserve` bytes (MAP_NORESERVE); they wait until killed. Children keep their pages
// untouched afterwards (cold). With `noHugePages` the reservation is MADV_NOHUGEPAGE: where
// THP is on, a holder's few pages would otherwise each fault in a whole 2 MiB THP.
class Holders {
  public:
    Holders(std::size_t count, std::size_t pages, std::uint64_t reserve, bool noHugePages = false) {
        for (std::size_t k = 0; k < count; ++k) {
            int ready[2];
            if (::pipe(ready) != 0) throw std::runtime_error("pipe");
            pid_t pid = ::fork();
            if (pid == 0) {
                // A fresh program, so a holder has nothing of the benchmark's memory.
                ::close(ready[0]);
                ::dup2(ready[1], 3);
                std::string pagesText = std::to_string(pages),
                            reserveText = std::to_string(reserve);
                ::execl("/proc/self/exe", "etmem-slide-bench", "--hold", pagesText.c_str(),
                        reserveText.c_str(), noHugePages ? "nohuge" : "huge",
                        static_cast<char*>(nullptr));
                ::_exit(127);
            }
            ::close(ready[1]);
            std::uint64_t base = 0;
            if (::read(ready[0], &base, sizeof base) != sizeof base)
                throw std::runtime_error("a holder did not start");
            ::close(ready[0]);
            pids_.push_back(pid);
            bases_.push_back(base);
        }
        pages_ = pages;
    }
    ~Holders() {
        for (pid_t pid : pids_) ::kill(pid, SIGKILL);
        for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
    }
    std::vector<Target> targets() const {
        std::vector<Target> result;
        for (pid_t pid : pids_) {
            Target target;
            target.pid = pid;
            target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
            result.push_back(std::move(target));
        }
        return result;
    }
    pid_t pid(std::size_t k) const { return pids_[k]; }
    std::uint64_t base(std::size_t k) const { return bases_[k]; }
    std::size_t pages() const { return pages_; }
    std::size_t count() const { return pids_.size(); }

  private:
    std::vector<pid_t> pids_;
    std::vector<std::uint64_t> bases_;
    std::size_t pages_ = 0;
};

// The holder program: reserves, writes `pages` pages, sends the base address on fd 3, waits.
[[noreturn]] void holdMain(std::size_t pages, std::uint64_t reserve, bool noHugePages) {
    void* memory = ::mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED) ::_exit(1);
    if (noHugePages) ::madvise(memory, reserve, MADV_NOHUGEPAGE);
    auto* bytes = static_cast<char*>(memory);
    for (std::size_t i = 0; i < pages; ++i) bytes[i * kPageSize] = 1;
    auto base = reinterpret_cast<std::uint64_t>(memory);
    if (::write(3, &base, sizeof base) != sizeof base) ::_exit(1);
    ::close(3);
    for (;;) ::pause();
}

// The floor: one round of the minimal loop over the holders' touched ranges (pagemap in
// 4096-entry chunks, PFN bits into words, bitmap read and written in 4 KiB windows).
double floorRoundCpuSeconds(const Holders& holders, bool clearRefs = false) {
    double start = processCpuSeconds();
    UniqueFd bitmap(::open("/sys/kernel/mm/page_idle/bitmap", O_RDWR));
    std::vector<std::uint64_t> entries(4096);
    std::vector<std::uint64_t> words;  // indexed by PFN / 64: no sorting, the least work
    for (std::size_t k = 0; k < holders.count(); ++k) {
        UniqueFd pagemap(
            ::open(("/proc/" + std::to_string(holders.pid(k)) + "/pagemap").c_str(), O_RDONLY));
        if (clearRefs) {  // what a real round adds per target: soft-dirty clear + TLB flush
            UniqueFd refs(::open(
                ("/proc/" + std::to_string(holders.pid(k)) + "/clear_refs").c_str(), O_WRONLY));
            if (::write(refs.get(), "4", 1) != 1) throw std::runtime_error("clear_refs");
        }
        std::uint64_t end = holders.base(k) + holders.pages() * kPageSize;
        for (std::uint64_t address = holders.base(k); address < end;) {
            std::size_t count = std::min<std::size_t>(entries.size(), (end - address) / kPageSize);
            ssize_t got = ::pread(pagemap.get(), entries.data(), count * 8,
                                  static_cast<off_t>(address / kPageSize * 8));
            if (got <= 0) break;
            for (std::size_t i = 0; i < static_cast<std::size_t>(got) / 8; ++i) {
                if (!(entries[i] >> 63)) continue;
                std::uint64_t pfn = entries[i] & ((1ull << 55) - 1);
                if (words.size() <= pfn / 64) words.resize(pfn / 64 + 1, 0);
                words[pfn / 64] |= 1ull << (pfn % 64);
            }
            address += static_cast<std::uint64_t>(got) / 8 * kPageSize;
        }
    }
    std::vector<std::uint64_t> chunk(512);
    for (std::size_t first = 0; first < words.size(); first += 512) {
        std::size_t n = std::min<std::size_t>(512, words.size() - first);
        if (std::all_of(words.begin() + first, words.begin() + first + n,
                        [](auto w) { return w == 0; }))
            continue;
        ssize_t ignored = ::pread(bitmap.get(), chunk.data(), n * 8, static_cast<off_t>(first * 8));
        ignored =
            ::pwrite(bitmap.get(), words.data() + first, n * 8, static_cast<off_t>(first * 8));
        (void)ignored;
    }
    return processCpuSeconds() - start;
}

// The guest's vCPU time so far and the part of it the host took (steal), in ticks: the
// first line of /proc/stat. Without CONFIG_PARAVIRT_TIME_ACCOUNTING a task's CPU time
// includes steal, so a busy host inflates the figures of two busy vCPUs most.
struct CpuTicks {
    unsigned long long total = 0, steal = 0;
};
CpuTicks cpuTicks() {
    std::istringstream line(readLine("/proc/stat"));
    std::string cpu;
    line >> cpu;
    CpuTicks ticks;
    unsigned long long value = 0;
    for (int field = 1; line >> value; ++field) {
        if (field <= 8) ticks.total += value;  // user .. steal; guest time is inside user
        if (field == 8) ticks.steal = value;
    }
    return ticks;
}

struct RoundCosts {
    std::vector<double> engine;  // CPU seconds per round
    std::vector<double> engineWall;
    double engineSteal = 0;  // the share of vCPU time stolen by the host during engine rounds
    std::vector<double> floor;
    std::vector<double> floorWithClearRefs;
    double beginCpu = 0;
    long peakGrowthKb = 0;
};

// beginCycle, then `rounds` engine rounds interleaved with floor rounds (no act: nothing is
// swapped, so every round sees the same resident set).
RoundCosts measureRounds(const Holders& holders, unsigned threads, unsigned rounds, bool withFloor,
                         bool act = false) {
    ProjectConfig project;
    project.loop = rounds;
    TaskConfig task;
    task.slide.T = 1;
    task.maxThreads = threads;
    QuietLogger logger;
    SlideOptions options;
    options.scanner = parseScannerChoice("idle_page");
    auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
    auto targets = holders.targets();
    RoundCosts costs;
    writeText("/proc/self/clear_refs", "5");
    long rssBefore = statusKb(0, "VmRSS");
    double start = processCpuSeconds();
    engine->beginCycle(targets, std::stop_token{});
    costs.beginCpu = processCpuSeconds() - start;
    CpuTicks steal;
    for (unsigned i = 0; i < rounds; ++i) {
        CpuTicks ticks = cpuTicks();
        auto wall = std::chrono::steady_clock::now();
        start = processCpuSeconds();
        engine->scan(std::stop_token{});
        costs.engine.push_back(processCpuSeconds() - start);
        costs.engineWall.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count());
        CpuTicks after = cpuTicks();
        steal.total += after.total - ticks.total;
        steal.steal += after.steal - ticks.steal;
        if (withFloor) costs.floor.push_back(floorRoundCpuSeconds(holders));
        if (withFloor) costs.floorWithClearRefs.push_back(floorRoundCpuSeconds(holders, true));
    }
    costs.engineSteal = steal.total > 0 ? double(steal.steal) / double(steal.total) : 0;
    if (act) engine->act(std::stop_token{});
    costs.peakGrowthKb = statusKb(0, "VmHWM") - rssBefore;
    return costs;
}

// Milliseconds from a stop request `after` into a stage to the stage's return.
template <typename Stage>
double stopLatencyMs(std::chrono::milliseconds after, Stage stage) {
    std::stop_source stop;
    std::chrono::steady_clock::time_point requested{}, returned{};
    std::thread worker([&] {
        stage(stop.get_token());
        returned = std::chrono::steady_clock::now();
    });
    std::this_thread::sleep_for(after);
    requested = std::chrono::steady_clock::now();
    stop.request_stop();
    worker.join();
    if (returned < requested) return -1;  // it finished before the request: not measured
    return std::chrono::duration<double, std::milli>(returned - requested).count();
}

// A "Field: N kB" line of /proc/PID/smaps_rollup, or 0.
long smapsRollupKb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return 0;
}

int residentScaling(const Settings& settings) {
    Figures say;
    auto probe = probeBackends();
    if (!probe.has("idle_page")) {
        std::fprintf(stderr, "slide-bench: the resident part needs idle page tracking\n");
        return 2;
    }
    const double mib = double(1 << 20), gib = double(1 << 30);
    const unsigned rounds = 9;
    say("slide-bench resident: PAGEMAP_SCAN %s; %u rounds per point, medians; CPU per round "
        "per resident GiB, ratio to the minimal chunked pagemap+bitmap loop in the same run "
        "(of the medians, and the median of each round's ratio)\n",
        probe.pagemapScan ? "yes" : "no", rounds);
    // 4a. Dense targets, 64 MiB -> max; 256 MiB also without THP, where every page has a PFN
    // of its own to read and mark (with THP, one per 2 MiB).
    double denseSmallPerGib = 0;
    auto densePoint = [&](std::size_t size, bool noHugePages) {
        Holders holders(1, size * (1 << 20) / kPageSize, size << 20, noHugePages);
        auto costs = measureRounds(holders, 1, rounds, true);
        double resident = double(size) / 1024;
        double engine = median(costs.engine) / resident, floor = median(costs.floor) / resident;
        double withRefs = median(costs.floorWithClearRefs) / resident;
        if (size == 64 && !noHugePages) denseSmallPerGib = engine;
        say("dense %5zu MiB%s: engine %.3f s/GiB/round, floor %.3f, ratio %.2f (per round "
            "%.2f); floor + clear_refs %.3f, ratio %.2f (per round %.2f); beginCycle %.3f s; peak "
            "RSS growth %ld KiB (%.2f bytes per resident page)\n",
            size, noHugePages ? " no THP" : "", engine, floor, floor > 0 ? engine / floor : 0.0,
            medianRoundRatio(costs.engine, costs.floor), withRefs,
            withRefs > 0 ? engine / withRefs : 0.0,
            medianRoundRatio(costs.engine, costs.floorWithClearRefs), costs.beginCpu,
            costs.peakGrowthKb, double(costs.peakGrowthKb) * 1024 / (double(size) * mib / 4096));
    };
    for (std::size_t size = 64; size <= settings.maxResidentMiB; size *= 4) densePoint(size, false);
    densePoint(std::min<std::size_t>(256, settings.maxResidentMiB), true);
    // 4b. A 1 TiB reservation with 16 MiB resident.
    {
        Holders holders(1, 4096, 1ull << 40);
        auto costs = measureRounds(holders, 1, rounds, true, true);
        double resident = 16.0 / 1024;
        double engine = median(costs.engine) / resident, floor = median(costs.floor) / resident;
        say("sparse 1 TiB / 16 MiB: engine %.3f s/GiB/round (%.2f x dense 64 MiB), floor over "
            "the touched range %.3f, ratio %.2f (per round %.2f); beginCycle %.3f s; peak RSS "
            "growth over the whole cycle (act swaps it out) %ld KiB\n",
            engine, denseSmallPerGib > 0 ? engine / denseSmallPerGib : 0.0, floor,
            floor > 0 ? engine / floor : 0.0, medianRoundRatio(costs.engine, costs.floor),
            costs.beginCpu, costs.peakGrowthKb);
    }
    // 4c. 1 -> N targets, 64 MiB in all (no THP), max_threads 1 and 4.
    for (std::size_t count : {std::size_t{1}, std::size_t{20}, settings.targets}) {
        std::size_t pages = 16384 / count;
        // 64 MiB in all: without THP, or 200 holders of 81 pages would hold 400 MiB.
        Holders holders(count, pages, std::uint64_t{1} << 30, true);
        double resident = double(count * pages * kPageSize) / gib;
        for (unsigned threads : {1u, 4u}) {
            auto costs = measureRounds(holders, threads, rounds, threads == 1);
            double engine = median(costs.engine) / resident;
            std::string floorText = "";
            if (!costs.floor.empty()) {
                double floor = median(costs.floor) / resident;
                double withRefs = median(costs.floorWithClearRefs) / resident;
                char text[256];
                std::snprintf(text, sizeof text,
                              ", floor %.3f, ratio %.2f (per round %.2f); floor + clear_refs "
                              "per target %.3f, ratio %.2f (per round %.2f)",
                              floor, floor > 0 ? engine / floor : 0.0,
                              medianRoundRatio(costs.engine, costs.floor), withRefs,
                              withRefs > 0 ? engine / withRefs : 0.0,
                              medianRoundRatio(costs.engine, costs.floorWithClearRefs));
                floorText = text;
            }
            say("%3zu targets x %5zu pages, max_threads %u: engine %.3f s/GiB/round (process "
                "CPU; wall %.1f ms/round, vCPU steal %.0f%%)%s; beginCycle %.3f s\n",
                count, pages, threads, engine, median(costs.engineWall) * 1000,
                costs.engineSteal * 100, floorText.c_str(), costs.beginCpu);
        }
        // The floor reads the touched pages only; the engine classifies every anonymous page
        // of a holder (its stack, heap and libraries' data too), which weighs with many
        // small targets.
        long anonymousKb = 0;
        for (std::size_t k = 0; k < holders.count(); ++k)
            anonymousKb += smapsRollupKb(holders.pid(k), "Anonymous");
        say("%3zu targets: anonymous memory of the holders %.1f MiB, of which touched %.1f MiB\n",
            count, double(anonymousKb) / 1024, double(count * pages * kPageSize) / mib);
    }
    // 4d. Stop latency on a 1 GiB target, per stage.
    {
        std::size_t size = std::min<std::size_t>(1024, settings.maxResidentMiB);
        Holders holders(1, size * (1 << 20) / kPageSize, size << 20);
        ProjectConfig project;
        project.loop = 1;
        TaskConfig task;
        task.slide.T = 1;
        QuietLogger logger;
        SlideOptions options;
        options.scanner = parseScannerChoice("idle_page");
        auto targets = holders.targets();
        auto engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
        double begin = stopLatencyMs(std::chrono::milliseconds(50), [&](std::stop_token stop) {
            engine->beginCycle(targets, stop);
        });
        engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
        engine->beginCycle(targets, std::stop_token{});
        double scan = stopLatencyMs(std::chrono::milliseconds(50),
                                    [&](std::stop_token stop) { engine->scan(stop); });
        double act = stopLatencyMs(std::chrono::milliseconds(50),
                                   [&](std::stop_token stop) { engine->act(stop); });
        // The swap-out stage: the stop is requested 30 ms after classification handed over.
        std::stop_source swapStop;
        std::jthread requester;
        std::chrono::steady_clock::time_point requested{};
        options.selectCold = [&](ColdSelection&) {
            requester = std::jthread([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                requested = std::chrono::steady_clock::now();
                swapStop.request_stop();
            });
        };
        engine = makeSlideEngine(EngineContext{project, task, {}, logger}, options);
        engine->beginCycle(targets, std::stop_token{});
        engine->scan(std::stop_token{});
        engine->act(swapStop.get_token());
        auto returned = std::chrono::steady_clock::now();
        if (requester.joinable()) requester.join();
        double swapOut =
            requested.time_since_epoch().count() == 0 || returned < requested
                ? -1
                : std::chrono::duration<double, std::milli>(returned - requested).count();
        say("stop latency on %zu MiB (ms from the request to the return; -1: the stage ended "
            "first): beginCycle %.1f, scan round %.1f, act/classification %.1f, act/swap-out "
            "%.1f\n",
            size, begin, scan, act, swapOut);
    }
    if (const char* dir = std::getenv("ETMEM_VM_OUT"))
        std::ofstream(fs::path(dir) / "slide-bench-resident.txt") << say.text;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::string(argv[1]) == "--hold")
        holdMain(std::stoul(argv[2]), std::stoull(argv[3]), std::string(argv[4]) == "nohuge");
    Settings settings;
    if (const char* path = std::getenv("ETMEM_WORKLOAD")) settings.workload = path;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i], value = argv[i + 1];
        if (key == "--scanner")
            settings.scanner = parseScannerChoice(value);
        else if (key == "--hot")
            settings.hotPages = std::stoul(value);
        else if (key == "--cold")
            settings.coldPages = std::stoul(value);
        else if (key == "--scan-pages")
            settings.scanPages = std::stoul(value);
        else if (key == "--run-seconds")
            settings.runSeconds = std::stoi(value);
        else if (key == "--T")
            settings.threshold = static_cast<unsigned>(std::stoul(value));
        else if (key == "--part")
            settings.part = value;
        else if (key == "--max-resident-mib")
            settings.maxResidentMiB = std::stoul(value);
        else if (key == "--targets")
            settings.targets = std::stoul(value);
    }
    if (settings.part == "resident") return residentScaling(settings);
    Figures say;
    auto probe = probeBackends();
    if (!probe.swapActive) {
        std::fprintf(stderr, "slide-bench: no swap device is active\n");
        return 2;
    }
    say("slide-bench: hot %zu pages, cold %zu pages, loop %u, T %u, run %d s\n", settings.hotPages,
        settings.coldPages, settings.loop, settings.threshold, settings.runSeconds);

    // 1a. etmem.
    std::uint64_t bytesSwapped = 0;
    {
        Workload workload(settings, settings.hotPages, settings.coldPages);
        auto figures = runCycle(settings, workload);
        bytesSwapped = figures.report.bytesSwapped;
        auto [cold, hot] = workload.swappedFractions();
        auto faults = majorFaults(workload.pid());
        std::this_thread::sleep_for(std::chrono::seconds(settings.runSeconds));
        auto faultsAfter = majorFaults(workload.pid()) - faults;
        int status = workload.stop();
        say("etmem (%s): swapped %llu bytes; cold swapped %.2f%%, hot swapped %.2f%%; major faults "
            "in %d s after: %llu; checksums %s\n",
            figures.report.scanner.c_str(), static_cast<unsigned long long>(bytesSwapped),
            cold * 100, hot * 100, settings.runSeconds, faultsAfter, status == 0 ? "ok" : "FAILED");
    }
    // 1b. The kernel's reclaim of the same bytes.
    try {
        auto group = makeCgroup();
        Workload workload(settings, settings.hotPages, settings.coldPages, group);
        std::this_thread::sleep_for(std::chrono::seconds(settings.loop));  // same age as etmem's
        try {
            writeText(group / "memory.reclaim", std::to_string(bytesSwapped));
        } catch (const std::exception& e) {
            say("memory.reclaim fell short: %s\n", e.what());
        }
        auto [cold, hot] = workload.swappedFractions();
        auto faults = majorFaults(workload.pid());
        std::this_thread::sleep_for(std::chrono::seconds(settings.runSeconds));
        auto faultsAfter = majorFaults(workload.pid()) - faults;
        int status = workload.stop();
        say("kernel reclaim (memory.reclaim %llu bytes): cold swapped %.2f%%, hot swapped %.2f%%; "
            "major faults in %d s after: %llu; checksums %s\n",
            static_cast<unsigned long long>(bytesSwapped), cold * 100, hot * 100,
            settings.runSeconds, faultsAfter, status == 0 ? "ok" : "FAILED");
        fs::remove(group);
    } catch (const std::exception& e) {
        say("kernel reclaim: not measured: %s\n", e.what());
    }
    // 2 + 3. Scan cost and memory on a larger, all-cold resident set.
    {
        Workload workload(settings, 0, settings.scanPages);
        double gib = double(settings.scanPages * kPageSize) / double(1ull << 30);
        auto figures = runCycle(settings, workload);
        double perRound = figures.scanCpuSeconds / settings.loop / gib;
        say("scan cost (%s): %.3f s CPU per round per GiB resident\n",
            figures.report.scanner.c_str(), perRound);
        if (probe.has("idle_page")) {
            // Swapped pages are not in the bitmap loop's way: fault them back first.
            workload.stop();
            Workload fresh(settings, 0, settings.scanPages);
            double minimal = 0;
            for (unsigned i = 0; i < settings.loop; ++i) minimal += minimalRoundCpuSeconds(fresh);
            minimal = minimal / settings.loop / gib;
            say("minimal pagemap+bitmap loop: %.3f s CPU per round per GiB; ratio %.2f\n", minimal,
                minimal > 0 ? perRound / minimal : 0.0);
        }
        // The state kept for a cycle is one byte per candidate page (256 KiB per GiB); the
        // rest is per-round buffers, which the peak RSS growth includes.
        say("engine memory: peak RSS growth %ld KiB during a cycle over %.3f GiB = %.0f KiB per "
            "GiB scanned (state: 1 byte per page = 256 KiB per GiB)\n",
            figures.peakGrowthKb, gib, double(figures.peakGrowthKb) / gib);
    }
    if (const char* dir = std::getenv("ETMEM_VM_OUT"))
        std::ofstream(fs::path(dir) / "slide-bench.txt") << say.text;
    return 0;
}
