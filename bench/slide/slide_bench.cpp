// The slide engine's benchmark (issue 5), run as root in a test guest with a swap device:
//  1. selection quality: etmem's cycle vs the kernel's own reclaim (cgroup v2 memory.reclaim
//     of the same number of bytes) on the same workload: cold-swapped %, hot-swapped %, and
//     the workload's major faults over the same time afterwards;
//  2. scan cost: CPU seconds per scan round per GiB resident, against a minimal loop making
//     the same kernel reads (pagemap + page_idle bitmap, bitmap moved in 4 KiB chunks);
//  3. the engine's memory per GiB scanned (peak RSS growth of this process during a cycle).
// Figures go to stdout and, in the guest, to $ETMEM_VM_OUT/slide-bench.txt.
#include <fcntl.h>
#include <signal.h>
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

#include "etmem/slide/idle_bitmap.hpp"
#include "etmem/slide/pagemap.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "workload_client.hpp"

using namespace etmem;
using namespace etmem::slide;
namespace fs = std::filesystem;

namespace {

struct Settings {
    std::string workload = "etmem-workload";
    ScannerKind scanner = ScannerKind::Auto;
    std::size_t hotPages = 2048;    // 8 MiB
    std::size_t coldPages = 30720;  // 120 MiB
    std::size_t scanPages = 65536;  // 256 MiB for the scan-cost part
    int runSeconds = 10;
    unsigned loop = 3;
    unsigned threshold = 4;
};

std::string readLine(const fs::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

void writeText(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write '" + text + "' to " + path.string());
}

long statusKb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return -1;
}

unsigned long long majorFaults(pid_t pid) {
    std::string stat = readLine("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int index = 3; index < 12 && rest >> field; ++index) {
    }
    unsigned long long faults = 0;
    rest >> faults;  // field 12: majflt
    return faults;
}

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
    task.T = settings.threshold;
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

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    if (const char* path = std::getenv("ETMEM_WORKLOAD")) settings.workload = path;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string key = argv[i], value = argv[i + 1];
        if (key == "--scanner")
            settings.scanner = parseScannerKind(value);
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
    }
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
        if (probe.idlePageTracking) {
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
