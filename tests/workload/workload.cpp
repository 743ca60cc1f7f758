// SPDX-License-Identifier: MulanPSL-2.0
// etmem-workload: memory with a known hot set and cold set.
//
// Allocates --hot + --cold pages in one private anonymous mapping; which pages are hot is
// drawn from --seed, scattered at page granularity, or with --hot-run N in runs of N
// consecutive pages (an application's hot data mostly sits together: a hot table, a hot
// arena), the runs placed at random. Every page gets a pattern derived from
// (seed, page). The layout (pid, base address, page count, hot page indices) is written to
// --layout once every page holds its pattern (written to a temp name and renamed, so a
// reader never sees half a file). Then the hot pages are touched over and over (read, or
// read and rewritten with the same content with --hot-access write) until SIGTERM/SIGINT
// (or --exit-after-ms), then every page is checked against its pattern: exit status 0 when
// all hold, 1 on any mismatch, 2 on a usage or system error.
//
// --children K forks K children after start-up; each runs the same program with seed+k and
// writes its layout to <layout>.<k>; the parent forwards SIGTERM and fails if one fails.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kWords = kPage / sizeof(std::uint64_t);

struct Options {
    std::size_t hotPages = 256;
    std::size_t coldPages = 1024;
    std::uint64_t seed = 1;
    std::size_t hotRun = 1;  // hot pages come in runs of this many consecutive pages
    std::string name = "etmem-workload";
    std::string layout;
    unsigned children = 0;
    bool writeHot = false;
    bool allowHugePages = false;
    long exitAfterMs = -1;
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint64_t patternWord(std::uint64_t seed, std::size_t page, std::size_t word) {
    return mix(seed ^ mix(page * kWords + word));
}

int usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s [--hot N] [--cold N] [--seed S] [--name COMM] [--layout FILE]\n"
                 "          [--children K] [--hot-access read|write] [--thp] "
                 "[--exit-after-ms MS] [--hot-run N]\n",
                 argv0);
    return 2;
}

bool parse(int argc, char** argv, Options& options) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--hot")
            options.hotPages = std::stoull(value());
        else if (arg == "--cold")
            options.coldPages = std::stoull(value());
        else if (arg == "--seed")
            options.seed = std::stoull(value());
        else if (arg == "--hot-run")
            options.hotRun = std::max<std::size_t>(1, std::stoull(value()));
        else if (arg == "--name")
            options.name = value();
        else if (arg == "--layout")
            options.layout = value();
        else if (arg == "--children")
            options.children = static_cast<unsigned>(std::stoul(value()));
        else if (arg == "--hot-access") {
            auto access = value();
            if (access != "read" && access != "write") return false;
            options.writeHot = access == "write";
        } else if (arg == "--thp")
            options.allowHugePages = true;
        else if (arg == "--exit-after-ms")
            options.exitAfterMs = std::stol(value());
        else
            return false;
    }
    return options.hotPages + options.coldPages > 0;
}

// The hot page indices for a seed: a seeded shuffle of runs of --hot-run pages (1: scattered
// page by page); the last run is cut short to make exactly --hot pages.
std::vector<std::size_t> hotIndices(const Options& options) {
    const std::size_t pages = options.hotPages + options.coldPages;
    const std::size_t run = std::min(options.hotRun, std::max<std::size_t>(pages, 1));
    std::vector<std::size_t> runs(pages / run);
    std::iota(runs.begin(), runs.end(), 0);
    std::mt19937_64 random(options.seed);
    std::shuffle(runs.begin(), runs.end(), random);
    std::vector<std::size_t> hot;
    for (std::size_t r = 0; r < runs.size() && hot.size() < options.hotPages; ++r)
        for (std::size_t i = 0; i < run && hot.size() < options.hotPages; ++i)
            hot.push_back(runs[r] * run + i);
    std::sort(hot.begin(), hot.end());
    return hot;
}

bool writeLayout(const Options& options, const std::uint64_t* base,
                 const std::vector<std::size_t>& hot) {
    if (options.layout.empty()) return true;
    std::string temp = options.layout + ".tmp";
    {
        std::ofstream out(temp);
        out << "pid " << ::getpid() << "\nbase 0x" << std::hex
            << reinterpret_cast<std::uintptr_t>(base) << std::dec << "\npages "
            << options.hotPages + options.coldPages << "\nseed " << options.seed << "\nhot";
        for (auto index : hot) out << ' ' << index;
        out << '\n';
        if (!out) return false;
    }
    return std::rename(temp.c_str(), options.layout.c_str()) == 0;
}

bool stopRequested(const sigset_t& signals) {
    timespec zero{0, 0};
    return ::sigtimedwait(&signals, nullptr, &zero) > 0;
}

// Touches every hot page once; returns a sum so the reads cannot be optimized away.
std::uint64_t touchHot(std::uint64_t* base, const std::vector<std::size_t>& hot, bool write) {
    std::uint64_t sum = 0;
    for (auto index : hot) {
        volatile std::uint64_t* word = base + index * kWords + (index % kWords);
        std::uint64_t value = *word;
        sum += value;
        if (write) *word = value;  // same content: the checksum still holds
    }
    return sum;
}

std::size_t countMismatches(const std::uint64_t* base, std::size_t pages, std::uint64_t seed) {
    std::size_t bad = 0;
    for (std::size_t page = 0; page < pages; ++page) {
        for (std::size_t word = 0; word < kWords; ++word) {
            if (base[page * kWords + word] != patternWord(seed, page, word)) {
                ++bad;
                break;
            }
        }
    }
    return bad;
}

int runOne(const Options& options, const sigset_t& signals) {
    std::size_t pages = options.hotPages + options.coldPages;
    void* memory =
        ::mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        std::perror("mmap");
        return 2;
    }
    if (!options.allowHugePages) ::madvise(memory, pages * kPage, MADV_NOHUGEPAGE);
    auto* base = static_cast<std::uint64_t*>(memory);
    for (std::size_t page = 0; page < pages; ++page)
        for (std::size_t word = 0; word < kWords; ++word)
            base[page * kWords + word] = patternWord(options.seed, page, word);
    auto hot = hotIndices(options);
    if (!writeLayout(options, base, hot)) {
        std::perror("writing the layout");
        return 2;
    }
    auto start = std::chrono::steady_clock::now();
    std::uint64_t sink = 0;
    while (!stopRequested(signals)) {
        sink += touchHot(base, hot, options.writeHot);
        if (options.exitAfterMs >= 0 && std::chrono::steady_clock::now() - start >=
                                            std::chrono::milliseconds(options.exitAfterMs))
            break;
        // Short breaks keep the hot set hot without eating a whole emulated CPU.
        timespec pause{0, 2'000'000};
        ::nanosleep(&pause, nullptr);
    }
    std::size_t bad = countMismatches(base, pages, options.seed);
    std::printf("pid %d: %zu pages checked, %zu mismatched (touch sum %llx)\n", ::getpid(), pages,
                bad, static_cast<unsigned long long>(sink & 0xf));
    return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        if (!parse(argc, argv, options)) return usage(argv[0]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return usage(argv[0]);
    }
    ::prctl(PR_SET_NAME, options.name.c_str());
    // Stop signals are taken synchronously between passes (no handler, no global flag).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    ::sigprocmask(SIG_BLOCK, &signals, nullptr);

    std::vector<pid_t> children;
    for (unsigned k = 1; k <= options.children; ++k) {
        pid_t child = ::fork();
        if (child < 0) {
            std::perror("fork");
            break;
        }
        if (child == 0) {
            Options own = options;
            own.children = 0;
            own.seed = options.seed + k;
            if (!options.layout.empty()) own.layout = options.layout + "." + std::to_string(k);
            int result = runOne(own, signals);
            std::fflush(stdout);  // _exit skips stdio
            ::_exit(result);
        }
        children.push_back(child);
    }
    int status = runOne(options, signals);
    for (pid_t child : children) {
        ::kill(child, SIGTERM);
        int childStatus = 0;
        if (::waitpid(child, &childStatus, 0) < 0 || !WIFEXITED(childStatus) ||
            WEXITSTATUS(childStatus) != 0)
            status = status == 0 ? 1 : status;
    }
    return status;
}
