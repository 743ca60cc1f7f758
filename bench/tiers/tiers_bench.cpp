// SPDX-License-Identifier: MulanPSL-2.0
// etmem-tiers-bench: memory tiers, run as root in a guest booted with two memory nodes
// (tests/vm/etmem-vm-run --topology tiered: node 0 with the CPUs, node 1 slower, CPU-less).
//
//   --part loop    the cost of moving pages between the nodes: all of an etmem-workload's
//                  --mib MiB to node 1 and back, by a minimal move_pages(2) loop with the node
//                  mover's own batch (kMaxPagesPerMoveCall pages a call), by the same loop with
//                  --batch pages a call, and by etmem's node mover (makeMover, destination
//                  "node N", ranges of kMaxBytesPerCall as the engines hand them), alternated
//                  --rounds times in one run. Under TCG only ratios within a run mean anything.
//   --part kernel  the kernel's own tiering as the baseline for etmem's: demotion_enabled 1,
//                  numa_balancing 2, node 0 filled (mlocked memory bound to it) until only
//                  the workload's hot set plus --reserve MiB is free there, which is where
//                  etmem leaves node 0; then an etmem-workload of --hot and --cold pages runs
//                  for --seconds. Every --sample seconds: the share of hot pages on node 0 and
//                  of cold pages on node 1 (move_pages status queries on the layout's pages),
//                  and the pages the kernel demoted and promoted (/proc/vmstat).
//   --part etmem   the same workload with node 0 filled to the same level, under etmem's slide
//                  engine sending cold pages to node 1 (DAMON, the kernel's tiering off):
//                  placement and pages demoted and promoted, side by side with the kernel's.
//   --part all     all three.
// Figures are lines starting "FIGURE", on stdout and in $ETMEM_VM_OUT/tiers-bench.txt.
// The workload program is $ETMEM_WORKLOAD (default etmem-workload on PATH); its exit status
// says whether every value survived the moves.
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "etmem/movers/mover.hpp"
#include "etmem/movers/node_pages.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "guest_numa.hpp"
#include "kernel_tiering.hpp"
#include "proc_stats.hpp"
#include "workload_client.hpp"

namespace {

using namespace etmem::bench::tiers;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kPage = 4096;
constexpr int kFastNode = 0;
constexpr int kSlowNode = 1;

struct Options {
    std::string part = "all";
    std::size_t mib = 256;
    std::size_t batchPages = 4096;
    unsigned rounds = 3;
    std::size_t hotPages = 8192;    // 32 MiB
    std::size_t coldPages = 57344;  // 224 MiB
    std::size_t reserveMib = 32;
    unsigned seconds = 60;
    unsigned sampleSeconds = 10;
};

std::string workloadProgram() {
    const char* path = std::getenv("ETMEM_WORKLOAD");
    return path ? path : "etmem-workload";
}

etmem::test::WorkloadOptions workloadOptions(std::size_t hot, std::size_t cold) {
    etmem::test::WorkloadOptions options;
    options.program = workloadProgram();
    options.hotPages = hot;
    options.coldPages = cold;
    options.seed = 7;
    return options;
}

double seconds(Clock::duration duration) {
    return std::chrono::duration<double>(duration).count();
}

// How many of the workload's pages sit on each node (index 0, 1), by a status query.
struct Placement {
    std::size_t hotOnFast = 0, hotOnSlow = 0, hot = 0;
    std::size_t coldOnFast = 0, coldOnSlow = 0, cold = 0;
    double hotFastShare() const { return hot ? double(hotOnFast) / double(hot) : 0; }
    double coldSlowShare() const { return cold ? double(coldOnSlow) / double(cold) : 0; }
};
Placement placementOf(const etmem::test::WorkloadProcess& workload) {
    auto nodes = etmem::vm::pageNodes(workload.pid(), workload.base, workload.pages);
    Placement placement;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        bool hot = workload.isHot(i);
        (hot ? placement.hot : placement.cold) += 1;
        if (nodes[i] == kFastNode) (hot ? placement.hotOnFast : placement.coldOnFast) += 1;
        if (nodes[i] == kSlowNode) (hot ? placement.hotOnSlow : placement.coldOnSlow) += 1;
    }
    return placement;
}

bool tieredGuest() {
    auto tiers = etmem::vm::memoryTiers();
    return tiers.size() >= 2 && tiers.front().nodes == std::vector<int>{kFastNode} &&
           std::find(tiers.back().nodes.begin(), tiers.back().nodes.end(), kSlowNode) !=
               tiers.back().nodes.end();
}

// ---------------------------------------------------------------------------------------
// --part loop: the minimal loop and etmem's mover on the same pages.
// ---------------------------------------------------------------------------------------

// The minimal loop: every page of the workload to `node`, --batch pages per move_pages call.
// Returns the pages the kernel reported at the node.
std::size_t minimalMove(const etmem::test::WorkloadProcess& workload, int node,
                        std::size_t batchPages) {
    std::vector<void*> pages(batchPages);
    std::vector<int> nodes(batchPages, node);
    std::vector<int> status(batchPages);
    std::size_t moved = 0;
    for (std::size_t first = 0; first < workload.pages; first += batchPages) {
        std::size_t count = std::min(batchPages, workload.pages - first);
        for (std::size_t i = 0; i < count; ++i)
            pages[i] = reinterpret_cast<void*>(workload.base + (first + i) * kPage);
        if (etmem::vm::movePages(workload.pid(), count, pages.data(), nodes.data(), status.data(),
                                 etmem::vm::kMoveOwnPages) < 0)
            throw std::runtime_error(fmt::format("move_pages: {}", std::strerror(errno)));
        moved += static_cast<std::size_t>(std::count(status.begin(), status.begin() + count, node));
    }
    return moved;
}

// etmem's node mover: the workload's pages handed over as the engines hand them, ranges of
// at most kMaxBytesPerCall per move() call. Returns the pages it confirmed at the node.
std::size_t moverMove(etmem::movers::Mover& mover, const etmem::test::WorkloadProcess& workload,
                      const etmem::Target& target) {
    etmem::movers::MoveTarget moveTarget{target, -1};
    std::vector<etmem::kernel::PageRange> ranges;
    const std::uint64_t end = workload.base + workload.pages * kPage;
    for (std::uint64_t start = workload.base; start < end; start += etmem::kernel::kMaxBytesPerCall)
        ranges.push_back({start, std::min(end, start + etmem::kernel::kMaxBytesPerCall)});
    for (const auto& range : ranges) mover.move(moveTarget, {&range, 1}, std::stop_token{});
    return mover.confirm(moveTarget, ranges, std::stop_token{});
}

std::unique_ptr<etmem::movers::Mover> nodeMover(int node, std::string& why) {
    etmem::movers::MoverConfig config;
    config.destination = etmem::movers::Destination::numaNode(node);
    return etmem::movers::makeMover(config, etmem::backends::probeBackends(), why);
}

// Seconds per GiB of one direction, and whether every page arrived.
struct Leg {
    double secondsPerGib = 0;
    bool complete = false;
};
template <typename Move>
Leg timedLeg(std::size_t pages, Move&& move) {
    auto start = Clock::now();
    std::size_t arrived = move();
    double elapsed = seconds(Clock::now() - start);
    return {elapsed / (double(pages * kPage) / double(1ULL << 30)), arrived == pages};
}

// One round trip (node 1, then node 0) of every page; seconds per GiB, averaged over both.
template <typename MoveTo>
double roundTrip(std::size_t pages, Figures& figures, const std::string& label, unsigned round,
                 bool& complete, MoveTo&& moveTo) {
    Leg out = timedLeg(pages, [&] { return moveTo(kSlowNode); });
    Leg back = timedLeg(pages, [&] { return moveTo(kFastNode); });
    complete = complete && out.complete && back.complete;
    figures.add(
        "tiers.{} round={} to_node1_s_per_gib={:.3f} to_node0_s_per_gib={:.3f} "
        "all_arrived={}",
        label, round, out.secondsPerGib, back.secondsPerGib, out.complete && back.complete);
    return (out.secondsPerGib + back.secondsPerGib) / 2;
}

// The minimal loop twice, with the mover's own batch (kMaxPagesPerMoveCall pages per call:
// what the mover's bookkeeping costs on top of the same calls) and with --batch pages (what
// the batch size costs), then the mover; rounds alternate so drift hits all three alike.
bool runLoopPart(const Options& options, Figures& figures) {
    const std::size_t pages = options.mib * (1ULL << 20) / kPage;
    etmem::test::WorkloadProcess workload(workloadOptions(0, pages));
    if (workload.pages != pages) {
        std::fprintf(stderr, "the workload wrote no layout\n");
        return false;
    }
    std::string why;
    auto toSlow = nodeMover(kSlowNode, why);
    auto toFast = toSlow ? nodeMover(kFastNode, why) : nullptr;
    if (!toFast) std::printf("etmem's node mover is not available: %s\n", why.c_str());
    auto target = workload.target();
    const std::size_t moverBatch = etmem::movers::kMaxPagesPerMoveCall;

    bool complete = true;
    double sameBatch = 0, bigBatch = 0, mover = 0;
    for (unsigned round = 1; round <= options.rounds; ++round) {
        sameBatch += roundTrip(pages, figures, "loop_mover_batch", round, complete,
                               [&](int node) { return minimalMove(workload, node, moverBatch); });
        bigBatch += roundTrip(pages, figures, "loop", round, complete, [&](int node) {
            return minimalMove(workload, node, options.batchPages);
        });
        if (toFast)
            mover += roundTrip(pages, figures, "mover", round, complete, [&](int node) {
                return moverMove(node == kSlowNode ? *toSlow : *toFast, workload, target);
            });
    }
    const double rounds = options.rounds;
    figures.add(
        "tiers.loop mib={} rounds={} batch_pages={} s_per_gib={:.3f} batch_pages={} "
        "s_per_gib={:.3f}",
        options.mib, options.rounds, moverBatch, sameBatch / rounds, options.batchPages,
        bigBatch / rounds);
    if (toFast)
        figures.add(
            "tiers.mover s_per_gib={:.3f} ratio_to_loop_same_batch={:.2f} "
            "ratio_to_loop_batch_{}={:.2f} (goal <= 1.30)",
            mover / rounds, mover / sameBatch, options.batchPages, mover / bigBatch);
    int status = workload.stop();
    figures.add("tiers.loop values_intact={} every_page_arrived={}", status == 0, complete);
    return status == 0 && complete;
}

// ---------------------------------------------------------------------------------------
// --part kernel: the kernel's own tiering.
// ---------------------------------------------------------------------------------------

// node 0 filled (mlocked, bound) until only the hot set and the reserve are free there:
// where etmem leaves node 0, and the pressure the kernel needs before it demotes anything.
std::unique_ptr<NodeFiller> fillFastNode(const Options& options, Figures& figures,
                                         const std::string& label) {
    // A quarter more than the hot set: page tables and the kernel's own allocations land on
    // node 0 too.
    const std::size_t hotBytes = options.hotPages * kPage / 4 * 5;
    const std::size_t keepFree = hotBytes + (options.reserveMib << 20);
    const std::size_t freeBefore = nodeFreeKb(kFastNode) * 1024;
    const std::size_t fillBytes = freeBefore > keepFree ? freeBefore - keepFree : 0;
    auto filler = std::make_unique<NodeFiller>(kFastNode, fillBytes / kPage * kPage);
    figures.add(
        "tiers.{} node0_free_mib_before={} filled_mib={} node0_free_mib={} "
        "(hot set + 25%: {} MiB, reserve {} MiB)",
        label, freeBefore >> 20, fillBytes >> 20, nodeFreeKb(kFastNode) >> 10, hotBytes >> 20,
        options.reserveMib);
    return filler;
}

void addPlacement(Figures& figures, const std::string& label, unsigned elapsed,
                  const Placement& placement, std::uint64_t demoted, std::uint64_t promoted) {
    figures.add("tiers.{} t={}s hot_on_node0={:.1f}% cold_on_node1={:.1f}% demoted={} promoted={}",
                label, elapsed, 100 * placement.hotFastShare(), 100 * placement.coldSlowShare(),
                demoted, promoted);
}

bool summarize(Figures& figures, const std::string& label, const Options& options,
               const Placement& placement, std::uint64_t demoted, std::uint64_t promoted,
               int status) {
    figures.add(
        "tiers.{} hot_pages={} cold_pages={} seconds={} hot_on_node0={:.1f}% "
        "cold_on_node1={:.1f}% pages_demoted={} pages_promoted={} values_intact={}",
        label, placement.hot, placement.cold, options.seconds, 100 * placement.hotFastShare(),
        100 * placement.coldSlowShare(), demoted, promoted, status == 0);
    return status == 0;
}

bool runKernelPart(const Options& options, Figures& figures) {
    ScopedSetting demotion("/sys/kernel/mm/numa/demotion_enabled", "1");
    ScopedSetting balancing("/proc/sys/kernel/numa_balancing", "2");
    auto filler = fillFastNode(options, figures, "kernel");
    auto start = MigrationCounters::now();
    etmem::test::WorkloadProcess workload(workloadOptions(options.hotPages, options.coldPages));
    auto started = Clock::now();
    Placement placement;
    for (unsigned elapsed = 0;; elapsed += options.sampleSeconds) {
        placement = placementOf(workload);
        auto moved = MigrationCounters::now().since(start);
        addPlacement(figures, "kernel", elapsed, placement, moved.demoted, moved.promoted);
        if (elapsed >= options.seconds) break;
        std::this_thread::sleep_until(started +
                                      std::chrono::seconds(elapsed + options.sampleSeconds));
    }
    auto moved = MigrationCounters::now().since(start);
    figures.add("tiers.kernel numa_pages_migrated={} hint_faults={}", moved.numaMigrated,
                moved.hintFaults);
    return summarize(figures, "kernel", options, placement, moved.demoted, moved.promoted,
                     workload.stop());
}

// ---------------------------------------------------------------------------------------
// --part etmem: the same workload and node 0 level under etmem's slide engine (DAMON with
// soft-dirty, loop 3, interval 1 s, T 4, cold_destination node 1, node_hot_reserve the
// reserve), the kernel's tiering off; cycles back to back for --seconds.
// ---------------------------------------------------------------------------------------

class WarningLogger final : public etmem::Logger {
  public:
    void log(etmem::LogLevel level, const etmem::LogContext&, std::string_view message) override {
        if (level >= etmem::LogLevel::Warning)
            std::printf("etmem: %.*s\n", static_cast<int>(message.size()), message.data());
    }
};

bool runEtmemPart(const Options& options, Figures& figures) {
    ScopedSetting demotion("/sys/kernel/mm/numa/demotion_enabled", "0");
    ScopedSetting balancing("/proc/sys/kernel/numa_balancing", "0");
    auto filler = fillFastNode(options, figures, "etmem");
    etmem::test::WorkloadProcess workload(workloadOptions(options.hotPages, options.coldPages));
    etmem::ProjectConfig project;
    project.loop = 3;
    project.interval = 1;
    etmem::TaskConfig task;
    task.slide.T = 4;
    task.slide.coldNode = kSlowNode;
    task.slide.hotReserveBytes = options.reserveMib << 20;
    etmem::slide::SlideOptions slideOptions;
    slideOptions.scanner = etmem::backends::parseScannerChoice("damon");
    WarningLogger logger;
    auto engine = etmem::slide::makeSlideEngine(etmem::EngineContext{project, task, {}, logger},
                                                std::move(slideOptions));
    std::vector<etmem::Target> targets;
    targets.push_back(workload.target());

    auto started = Clock::now();
    std::uint64_t demoted = 0, promoted = 0;
    Placement placement = placementOf(workload);
    addPlacement(figures, "etmem", 0, placement, 0, 0);
    for (unsigned cycle = 1; seconds(Clock::now() - started) < options.seconds; ++cycle) {
        engine->beginCycle(targets, std::stop_token{});
        for (unsigned round = 0; round < project.loop; ++round) {
            std::this_thread::sleep_for(std::chrono::seconds(project.interval));
            engine->scan(std::stop_token{});
        }
        auto report = engine->act(std::stop_token{});
        std::printf(
            "etmem: cycle %u: hot %llu cold %llu, on node 0 %llu, node 1 %llu; node 0 free "
            "%zu MiB%s%s\n",
            cycle, static_cast<unsigned long long>(report.pagesHot),
            static_cast<unsigned long long>(report.pagesCold),
            static_cast<unsigned long long>(report.extra.count("pages_node0")),
            static_cast<unsigned long long>(report.extra.count("pages_node1")),
            nodeFreeKb(kFastNode) >> 10, report.error.empty() ? "" : "; ", report.error.c_str());
        std::fflush(stdout);
        demoted += report.extra.count("pages_demoted");
        promoted += report.extra.count("pages_promoted");
        placement = placementOf(workload);
        addPlacement(figures, "etmem", static_cast<unsigned>(seconds(Clock::now() - started)),
                     placement, demoted, promoted);
    }
    return summarize(figures, "etmem", options, placement, demoted, promoted, workload.stop());
}

int usage() {
    std::fprintf(
        stderr,
        "usage: etmem-tiers-bench [--part loop|kernel|etmem|all] [--mib N] [--batch PAGES]\n"
        "          [--rounds R] [--hot PAGES] [--cold PAGES] [--reserve MIB]\n"
        "          [--seconds S] [--sample S]\n");
    return 2;
}

std::optional<Options> parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (i + 1 >= argc) return std::nullopt;
        std::string value = argv[++i];
        if (arg == "--part")
            options.part = value;
        else if (arg == "--mib")
            options.mib = std::stoull(value);
        else if (arg == "--batch")
            options.batchPages = std::max<std::size_t>(1, std::stoull(value));
        else if (arg == "--rounds")
            options.rounds = std::max(1U, static_cast<unsigned>(std::stoul(value)));
        else if (arg == "--hot")
            options.hotPages = std::stoull(value);
        else if (arg == "--cold")
            options.coldPages = std::stoull(value);
        else if (arg == "--reserve")
            options.reserveMib = std::stoull(value);
        else if (arg == "--seconds")
            options.seconds = static_cast<unsigned>(std::stoul(value));
        else if (arg == "--sample")
            options.sampleSeconds = std::max(1U, static_cast<unsigned>(std::stoul(value)));
        else
            return std::nullopt;
    }
    if (options.part != "loop" && options.part != "kernel" && options.part != "etmem" &&
        options.part != "all")
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
    if (!options) return usage();
    if (!tieredGuest()) {
        std::fprintf(stderr,
                     "etmem-tiers-bench: needs node 0 in the fastest memory tier and node 1 in a "
                     "lower one (boot with etmem-vm-run --topology tiered)\n");
        return 1;
    }
    Figures figures("tiers-bench.txt");
    bool ok = true;
    try {
        if (options->part == "loop" || options->part == "all")
            ok = runLoopPart(*options, figures) && ok;
        if (options->part == "kernel" || options->part == "all")
            ok = runKernelPart(*options, figures) && ok;
        if (options->part == "etmem" || options->part == "all")
            ok = runEtmemPart(*options, figures) && ok;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "etmem-tiers-bench: %s\n", error.what());
        ok = false;
    }
    figures.save();
    return ok ? 0 : 1;
}
