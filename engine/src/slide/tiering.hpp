// SPDX-License-Identifier: MulanPSL-2.0
// Tiering, the act stage of a slide task whose cold pages go to a slower NUMA node
// (cold_destination: node N) instead of swap. Per target, after classification:
//
// - where each resident candidate page is: move_pages(2) asked (no move), in batches of
//   kMaxPagesPerMoveCall; the pages per node are the task's figures;
// - demotion: a cold page whose streak is full (cold_cycles) and that sits on a node faster
//   than the cold node goes to the cold node;
// - the chain (then_swap_after S): a cold page on the cold node (or a slower one) cold for
//   S further cycles goes on to swap, through the task's swap mover and swap pacing;
// - promotion: a hot page on a node slower than the fastest node with room goes there,
//   leaving node_hot_reserve free on it (room is read from the node's MemFree each cycle).
//
// Each direction has its own token bucket at max_migrate_rate (pacing.hpp's Pacer, which
// pressure_limit scales and pauses as it does swap-out). Moves go through the node mover
// (engine/src/movers/node_mover.cpp) and count only what the kernel then reports on the
// destination node.
//
// How it stops: every move_pages call is at most 256 pages and checks the stop token before
// it; paced waits end as soon as stop is requested.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "etmem/kernel/memory_tiers.hpp"
#include "etmem/log.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/movers/node_pages.hpp"
#include "etmem/slide/pacing.hpp"
#include "etmem/task_engine.hpp"
#include "slide/cycle_errors.hpp"
#include "slide/cycle_pacing.hpp"
#include "slide/cycle_target.hpp"

namespace etmem::slide {

// The names tiering reports under (CycleReport::extra).
namespace tier_figure {
inline constexpr std::string_view kPagesDemoted = "pages_demoted";
inline constexpr std::string_view kPagesPromoted = "pages_promoted";
inline constexpr std::string_view kMigrateRate = "migrate_bytes_per_second";
inline constexpr std::string_view kPageErrors = "migrate_page_errors";
// "pages_node0", "pages_node1", ...: the task's resident candidate pages on each node.
std::string pagesOnNode(int node);
}  // namespace tier_figure

struct TieringSettings {
    int coldNode = -1;
    // cslide's node_pair: (hot, cold) pairs instead of one cold node (coldNode is -1 then).
    std::vector<std::pair<int, int>> pairs;
    bool migrate = true;     // false: where pages are is reported, nothing moves (quota 0)
    unsigned threshold = 1;  // T
    unsigned coldCycles = 1;
    unsigned thenSwapAfter = 0;  // 0: no chain
    std::uint64_t hotReserveBytes = 0;
    unsigned hotReservePercent = 0;
    PacingLimits migrateLimits;      // max_migrate_rate and pressure_limit
    std::chrono::seconds window{1};  // a cycle's moves spread over at most this
    kernel::KernelPaths paths;
    std::shared_ptr<movers::PageNodes> pageNodes;  // the kernel's move_pages unless a test's

    static TieringSettings of(const ProjectConfig& project, const TaskConfig& task,
                              const kernel::KernelPaths& paths);
};

class Tiering {
  public:
    Tiering(TieringSettings settings, std::shared_ptr<movers::Mover> swapMover, std::string swapWhy,
            CyclePacing& swapPacing, CycleErrors& errors);

    // Once per act: reads the machine's nodes (free memory for promotion), checks the cold
    // node, starts both directions' pacing. Returns whether pages may move this cycle.
    bool begin(const Target* first);
    // One target: where its candidate pages are, then demotion, promotion and the chain.
    // Returns the pages the chain confirmed swapped.
    std::uint64_t act(TargetState& state, kernel::PresentPagemap& present, std::stop_token stop);
    // The cycle's tier figures into the report.
    void end(CycleReport& report);

  private:
    struct Direction {
        std::optional<Pacer> pacer;
        std::mutex mutex;
        std::atomic<std::uint64_t> pages{0};
    };
    // What to move, by the node the pages are on now (so the pages per node can follow).
    using BySource = std::map<int, std::vector<kernel::PageRange>>;
    struct Plan {
        BySource demote, promote, swap;
        std::map<int, std::uint64_t> perNode;
    };

    void sortPages(TargetState& state, std::span<const std::uint64_t> addresses, Plan& plan,
                   std::stop_token stop);
    std::uint64_t migrate(TargetState& state, Direction& direction, int node,
                          std::vector<kernel::PageRange> ranges, std::stop_token stop);
    void moved(Plan& plan, int from, int to, std::uint64_t pages);
    void routeColdNode(const kernel::MemoryNode& cold);
    bool routePairs();
    void addRoom(const kernel::MemoryNode& node);
    int route(const std::map<int, int>& routes, int node) const;
    std::uint64_t swapOut(TargetState& state, const std::vector<kernel::PageRange>& ranges,
                          std::stop_token stop);
    std::vector<kernel::PageRange> takeRoom(int node, std::vector<kernel::PageRange> ranges);
    movers::Mover& moverTo(int node);

    TieringSettings settings_;
    std::shared_ptr<movers::Mover> swapMover_;
    std::string swapWhy_;
    CyclePacing& swapPacing_;
    CycleErrors& errors_;
    kernel::MemoryTiers tiers_;
    // This cycle's routes, by the node a page is on: where a cold page goes, where a hot one
    // goes, and the nodes whose pages the chain may swap.
    std::map<int, int> demoteTo_, promoteTo_;
    std::set<int> chainFrom_;
    std::map<int, std::uint64_t> roomPages_;  // what promotion may still take, per node
    bool maySwap_ = false;
    Pacer::Clock::time_point deadline_{};
    Pacer::Clock::time_point started_{};
    std::mutex mutex_;  // tiers_ reads, room, movers_, node counts
    std::map<int, std::unique_ptr<movers::Mover>> movers_;
    std::map<int, std::uint64_t> pagesPerNode_;
    Direction demotion_, promotion_;
    std::atomic<std::uint64_t> pageErrors_{0};
};

}  // namespace etmem::slide
