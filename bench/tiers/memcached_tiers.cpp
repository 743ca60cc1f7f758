// SPDX-License-Identifier: MulanPSL-2.0
// etmem-tiers-memcached: memory tiers on a real application, run as root in a guest booted
// with two memory nodes (etmem-vm-run --topology tiered). Debian's memcached holds --items
// values of 4,000 bytes; a skewed client reads only --hot-share of the keys (every
// (1/share)-th key, in multi-gets of 16 random hot keys), the rest are never read after loading.
//
// Which pages are hot is found, not guessed: every value starts with a marker and its key's
// number, so after loading, memcached's anonymous memory is searched (/proc/PID/mem) for the
// markers; a page holding any part of a read key's value is hot, a page holding only values
// never read is cold (pages with no value, memcached's own tables, are not judged). Placement
// is asked of the kernel (move_pages status), and every value is read back at the end.
//
//   --mode kernel  the kernel's own tiering: demotion_enabled 1, numa_balancing 2, node 0
//                  filled (mlocked, bound) until the hot pages plus --reserve MiB are free
//                  there, where etmem would leave it; memcached starts and loads after.
//   --mode etmem   the same fill and load under etmem's slide engine (DAMON, cold_destination
//                  node 1, node_hot_reserve --reserve), the kernel's tiering off.
// Figures are "FIGURE" lines on stdout and in $ETMEM_VM_OUT/tiers-memcached.txt.
#include <fcntl.h>
#include <libmemcached/memcached.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etmem/slide/slide_engine.hpp"
#include "guest_numa.hpp"
#include "kernel_tiering.hpp"

namespace {

using namespace etmem::bench::tiers;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kValueBytes = 4000;
constexpr char kMarker[8] = {'E', 'T', 'M', 'T', 'I', 'E', 'R', 'S'};
constexpr const char* kSocket = "/run/etmem-tiers-memcached.sock";
constexpr int kFastNode = 0;
constexpr int kSlowNode = 1;

struct Options {
    std::string mode = "kernel";
    std::size_t items = 40000;  // 160 MB of values
    double hotShare = 0.1;
    std::size_t reserveMib = 32;
    unsigned seconds = 60;
    unsigned sampleSeconds = 10;
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::string keyOf(std::size_t item) {
    return "key:" + std::to_string(item);
}

// The marker, the item's number, then words derived from it.
std::string valueOf(std::size_t item) {
    std::string value(kValueBytes, '\0');
    std::memcpy(value.data(), kMarker, sizeof kMarker);
    std::uint64_t number = item;
    std::memcpy(value.data() + 8, &number, sizeof number);
    for (std::size_t at = 16; at + 8 <= kValueBytes; at += 8) {
        std::uint64_t word = mix(item * 1000 + at);
        std::memcpy(value.data() + at, &word, sizeof word);
    }
    return value;
}

// memcached on a unix socket with one client connection; killed on destruction.
class Memcached {
  public:
    Memcached() {
        ::unlink(kSocket);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execlp("memcached", "memcached", "-u", "root", "-s", kSocket, "-t", "1", "-m", "600",
                     "-c", "16", static_cast<char*>(nullptr));
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
    Memcached(const Memcached&) = delete;
    Memcached& operator=(const Memcached&) = delete;
    ~Memcached() {
        memcached_free(client_);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

    void load(std::size_t items) {
        for (std::size_t item = 0; item < items; ++item) {
            std::string key = keyOf(item), value = valueOf(item);
            if (memcached_set(client_, key.data(), key.size(), value.data(), value.size(), 0, 0) !=
                MEMCACHED_SUCCESS)
                throw std::runtime_error("set " + key + ": " +
                                         memcached_last_error_message(client_));
        }
    }

    // One multi-get; returns how many of the values were missing or wrong.
    std::size_t fetchAndCompare(const std::vector<std::size_t>& items) {
        std::vector<std::string> keys;
        for (std::size_t item : items) keys.push_back(keyOf(item));
        std::vector<const char*> pointers;
        std::vector<std::size_t> lengths;
        for (const auto& key : keys) pointers.push_back(key.data()), lengths.push_back(key.size());
        if (memcached_mget(client_, pointers.data(), lengths.data(), keys.size()) !=
            MEMCACHED_SUCCESS)
            return items.size();
        std::size_t good = 0;
        memcached_return_t rc;
        while (memcached_result_st* result = memcached_fetch_result(client_, nullptr, &rc)) {
            std::string key(memcached_result_key_value(result),
                            memcached_result_key_length(result));
            std::string expected = valueOf(std::stoul(key.substr(4)));
            good +=
                memcached_result_length(result) == expected.size() &&
                std::memcmp(memcached_result_value(result), expected.data(), expected.size()) == 0;
            memcached_result_free(result);
        }
        return items.size() - good;
    }

    std::size_t verifyAll(std::size_t items) {
        std::size_t bad = 0;
        std::vector<std::size_t> batch;
        for (std::size_t item = 0; item < items; ++item) {
            batch.push_back(item);
            if (batch.size() == 100 || item + 1 == items) {
                bad += fetchAndCompare(batch);
                batch.clear();
            }
        }
        return bad;
    }

  private:
    pid_t pid_ = -1;
    memcached_st* client_ = nullptr;
};

// The hot keys: every `stride`-th one, so they are spread over the load order and memcached's
// slabs instead of sitting where the load began (the first pages, first placed on node 0).
struct HotKeys {
    std::size_t stride = 10;
    std::size_t count(std::size_t items) const { return items / stride; }
    bool contains(std::size_t item) const { return item % stride == 0; }
    std::size_t nth(std::size_t n) const { return n * stride; }
};

// The skewed client: multi-gets of 16 random hot keys, until stopped.
struct ClientCounts {
    std::size_t keys = 0;
    std::size_t bad = 0;
};
ClientCounts readHotKeys(Memcached& server, const HotKeys& hotKeys, std::size_t hotItems,
                         std::stop_token stop) {
    std::mt19937_64 random(5);
    std::uniform_int_distribution<std::size_t> draw(0, hotItems - 1);
    ClientCounts counts;
    std::vector<std::size_t> batch(16);
    while (!stop.stop_requested()) {
        for (auto& item : batch) item = hotKeys.nth(draw(random));
        std::sort(batch.begin(), batch.end());
        batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
        counts.bad += server.fetchAndCompare(batch);
        counts.keys += batch.size();
        batch.resize(16);
    }
    return counts;
}

// memcached's pages that hold values: hot (part of a read key's value) or cold (only values
// never read), found by searching its anonymous writable mappings for the markers.
struct ValuePages {
    std::vector<std::uint64_t> hot;
    std::vector<std::uint64_t> cold;
    std::size_t valuesFound = 0;
};
ValuePages findValuePages(pid_t pid, const HotKeys& hotKeys) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    etmem::UniqueFd mem(::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY));
    if (!mem) throw std::runtime_error("cannot open memcached's /proc/PID/mem");
    std::map<std::uint64_t, bool> pageIsHot;  // page -> holds part of a hot value
    std::size_t found = 0;
    std::string line;
    constexpr std::size_t kChunk = 1 << 20;
    std::vector<char> buffer(kChunk + 16);
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, perms, offset, device, inode, path;
        fields >> range >> perms >> offset >> device >> inode >> path;
        if (perms.substr(0, 2) != "rw" || (!path.empty() && path != "[heap]")) continue;
        std::uint64_t start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
        std::uint64_t end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
        for (std::uint64_t at = start; at < end; at += kChunk) {
            std::size_t length = std::min<std::uint64_t>(kChunk + 16, end - at);
            ssize_t got = ::pread(mem.get(), buffer.data(), length, static_cast<off_t>(at));
            if (got <= 16) continue;
            const char* base = buffer.data();
            const char* scanEnd = base + std::min<std::size_t>(got, kChunk + 8) - 8;
            for (const char* hit = base; hit < scanEnd; ++hit) {
                hit = static_cast<const char*>(std::memchr(hit, 'E', scanEnd - hit));
                if (hit == nullptr) break;
                if (std::memcmp(hit, kMarker, sizeof kMarker) != 0 || hit + 16 > base + got)
                    continue;
                std::uint64_t item = 0;
                std::memcpy(&item, hit + 8, sizeof item);
                std::uint64_t address = at + static_cast<std::uint64_t>(hit - base);
                bool hot = hotKeys.contains(item);
                for (std::uint64_t page = address / kPage * kPage; page < address + kValueBytes;
                     page += kPage)
                    pageIsHot[page] = pageIsHot[page] || hot;
                ++found;
            }
        }
    }
    ValuePages pages;
    pages.valuesFound = found;
    for (const auto& [page, hot] : pageIsHot) (hot ? pages.hot : pages.cold).push_back(page);
    return pages;
}

struct Placement {
    double hotOnFast = 0, coldOnSlow = 0;
};
Placement placementOf(pid_t pid, const ValuePages& pages) {
    auto share = [&](const std::vector<std::uint64_t>& addresses, int node) {
        auto nodes = etmem::vm::nodesOf(pid, addresses);
        return addresses.empty() ? 0.0
                                 : double(std::count(nodes.begin(), nodes.end(), node)) /
                                       double(addresses.size());
    };
    return {share(pages.hot, kFastNode), share(pages.cold, kSlowNode)};
}

class WarningLogger final : public etmem::Logger {
  public:
    void log(etmem::LogLevel level, const etmem::LogContext&, std::string_view message) override {
        if (level >= etmem::LogLevel::Warning)
            std::printf("etmem: %.*s\n", static_cast<int>(message.size()), message.data());
    }
};

// etmem's slide engine sending memcached's cold pages to node 1: DAMON (with soft-dirty),
// loop 3, interval 1 s, T 1 (memcached's hot values are read, not written),
// node_hot_reserve the reserve; cycles back to back.
class EtmemCycles {
  public:
    EtmemCycles(pid_t pid, std::size_t reserveMib) {
        project_.loop = 3;
        project_.interval = 1;
        task_.slide.T = 1;
        task_.slide.coldNode = kSlowNode;
        task_.slide.hotReserveBytes = reserveMib << 20;
        etmem::slide::SlideOptions options;
        options.scanner = etmem::backends::parseScannerChoice("damon");
        engine_ = etmem::slide::makeSlideEngine(etmem::EngineContext{project_, task_, {}, logger_},
                                                std::move(options));
        etmem::Target target;
        target.pid = pid;
        target.pidfd = etmem::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        targets_.push_back(std::move(target));
    }
    // One cycle; adds its pages demoted and promoted.
    void cycle(std::uint64_t& demoted, std::uint64_t& promoted) {
        engine_->beginCycle(targets_, std::stop_token{});
        for (unsigned round = 0; round < project_.loop; ++round) {
            std::this_thread::sleep_for(std::chrono::seconds(project_.interval));
            engine_->scan(std::stop_token{});
        }
        auto report = engine_->act(std::stop_token{});
        if (!report.error.empty()) std::printf("etmem: %s\n", report.error.c_str());
        demoted += report.extra.count("pages_demoted");
        promoted += report.extra.count("pages_promoted");
    }

  private:
    etmem::ProjectConfig project_;
    etmem::TaskConfig task_;
    WarningLogger logger_;
    std::unique_ptr<etmem::TaskEngine> engine_;
    std::vector<etmem::Target> targets_;
};

// One mode: node 0 filled, memcached loaded, the skewed client reading for --seconds while the
// kernel's tiering (kernel) or etmem's cycles (etmem) place the pages.
bool runMode(const Options& options, Figures& figures) {
    const bool kernelMode = options.mode == "kernel";
    const std::string label = "memcached." + options.mode;
    ScopedSetting demotion("/sys/kernel/mm/numa/demotion_enabled", kernelMode ? "1" : "0");
    ScopedSetting balancing("/proc/sys/kernel/numa_balancing", kernelMode ? "2" : "0");
    const HotKeys hotKeys{static_cast<std::size_t>(1 / options.hotShare + 0.5)};
    const std::size_t hotItems = hotKeys.count(options.items);
    // A value spans one or two pages: budget two for each hot one.
    const std::size_t hotBytes = hotItems * 2 * kPage;
    const std::size_t keepFree = hotBytes + (options.reserveMib << 20);
    const std::size_t freeBefore = nodeFreeKb(kFastNode) * 1024;
    NodeFiller filler(kFastNode,
                      freeBefore > keepFree ? (freeBefore - keepFree) / kPage * kPage : 0);
    figures.add("tiers.{} node0_free_mib={} (hot values {} MiB + reserve {} MiB)", label,
                nodeFreeKb(kFastNode) >> 10, hotBytes >> 20, options.reserveMib);

    auto counters = MigrationCounters::now();
    Memcached server;
    server.load(options.items);
    ValuePages pages = findValuePages(server.pid(), hotKeys);
    figures.add("tiers.{} values={} found={} hot_pages={} cold_pages={}", label, options.items,
                pages.valuesFound, pages.hot.size(), pages.cold.size());

    std::stop_source stop;
    ClientCounts client;
    std::thread reader([&] { client = readHotKeys(server, hotKeys, hotItems, stop.get_token()); });
    std::optional<EtmemCycles> etmem;
    if (!kernelMode) etmem.emplace(server.pid(), options.reserveMib);
    std::uint64_t demoted = 0, promoted = 0;
    auto started = Clock::now();
    Placement placement;
    for (unsigned next = 0;;) {
        auto elapsed = static_cast<unsigned>(
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count());
        if (elapsed >= next) {
            placement = placementOf(server.pid(), pages);
            if (kernelMode) {
                auto moved = MigrationCounters::now().since(counters);
                demoted = moved.demoted;
                promoted = moved.promoted;
            }
            figures.add(
                "tiers.{} t={}s hot_on_node0={:.1f}% cold_on_node1={:.1f}% demoted={} "
                "promoted={}",
                label, elapsed, 100 * placement.hotOnFast, 100 * placement.coldOnSlow, demoted,
                promoted);
            next = elapsed + options.sampleSeconds;
            if (elapsed >= options.seconds) break;
        }
        if (etmem)
            etmem->cycle(demoted, promoted);
        else
            std::this_thread::sleep_until(started + std::chrono::seconds(next));
    }
    stop.request_stop();
    reader.join();
    double readSeconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::size_t bad = server.verifyAll(options.items) + client.bad;
    figures.add(
        "tiers.{} hot_on_node0={:.1f}% cold_on_node1={:.1f}% pages_demoted={} "
        "pages_promoted={} keys_read_per_s={:.0f} values_intact={}",
        label, 100 * placement.hotOnFast, 100 * placement.coldOnSlow, demoted, promoted,
        double(client.keys) / readSeconds, bad == 0);
    return bad == 0 && pages.valuesFound >= options.items * 99 / 100;
}

std::optional<Options> parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view arg = argv[i];
        std::string value = argv[i + 1];
        if (arg == "--mode")
            options.mode = value;
        else if (arg == "--items")
            options.items = std::stoull(value);
        else if (arg == "--hot-share")
            options.hotShare = std::stod(value);
        else if (arg == "--reserve")
            options.reserveMib = std::stoull(value);
        else if (arg == "--seconds")
            options.seconds = static_cast<unsigned>(std::stoul(value));
        else if (arg == "--sample")
            options.sampleSeconds = std::max(1U, static_cast<unsigned>(std::stoul(value)));
        else
            return std::nullopt;
    }
    if (argc % 2 == 0 || (options.mode != "kernel" && options.mode != "etmem") ||
        options.hotShare <= 0 || options.hotShare >= 1)
        return std::nullopt;
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<Options> options;
    try {
        options = parse(argc, argv);
    } catch (const std::exception&) {
    }
    if (!options) {
        std::fprintf(
            stderr,
            "usage: etmem-tiers-memcached [--mode kernel|etmem] [--items N] [--hot-share F]\n"
            "          [--reserve MIB] [--seconds S] [--sample S]\n");
        return 2;
    }
    Figures figures("tiers-memcached.txt");
    bool ok = false;
    try {
        ok = runMode(*options, figures);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "etmem-tiers-memcached: %s\n", error.what());
    }
    figures.save();
    return ok ? 0 : 1;
}
