// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's own task keys, as a task config holds them (TaskConfig::slide).
//
// Each field is one key of the table in engine/src/engines/slide/slide_keys.cpp, which reads,
// checks and writes it in every file form; a new key is a field here and a row there.
//
// These are slide's rather than every engine's because only slide reads them: T classifies
// slide's access counts, scanner and swapper pick slide's backends, and the gates (swap_*,
// dram_percent), pacing (max_swap_rate, pressure_limit) and cold_cycles shape slide's
// eviction. What every engine needs (which processes, how many workers, the task's name)
// stays in TaskConfig.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace etmem::slide {

// Ranges of the keys (inclusive).
inline constexpr unsigned kMinDramPercent = 1, kMaxDramPercent = 100;
inline constexpr std::uint64_t kMinSwapThresholdBytes = 1024;           // 1k
inline constexpr std::uint64_t kMaxSwapThresholdBytes = 1024ULL << 40;  // 1024t
// max_swap_rate is bytes per second (0: no limit); pressure_limit is PSI "some avg10" in
// percent (0: not paced by pressure).
inline constexpr std::uint64_t kMinSwapRate = 4096, kMaxSwapRate = std::uint64_t{1} << 40;
inline constexpr double kMinPressureLimit = 0.1, kMaxPressureLimit = 100.0;
inline constexpr unsigned kMinColdCycles = 1, kMaxColdCycles = 16;
// Memory tiers: then_swap_after is further cold cycles on the slow node; node_hot_reserve a
// size (4096..1T) or a percentage of the fast node (1..50); max_migrate_rate as max_swap_rate.
inline constexpr unsigned kMinThenSwapAfter = 1, kMaxThenSwapAfter = 64;
inline constexpr unsigned kMinHotReservePercent = 1, kMaxHotReservePercent = 50;
inline constexpr int kMaxNodeNumber = 1023;  // the kernel's MAX_NUMNODES is at most 1024

struct SlideSettings {
    unsigned T = 1;  // param.T: a page accessed in >= T weighted scans is hot
    // Backends pinned by the task: "auto" (probe) or a backend name (etmem/backends/backends.hpp).
    std::string scanner = "auto";
    std::string swapper = "auto";
    // etmem 1.1's keys.
    std::uint64_t swapThresholdBytes = 0;  // swap_threshold; 0: not set
    unsigned dramPercent = 0;              // dram_percent; 0: not set
    bool swapFlag = false;                 // swap_flag: only mappings the application marked
    std::uint64_t maxSwapRate = 0;         // max_swap_rate, bytes/s; 0: unlimited
    double pressureLimit = 0;              // pressure_limit, percent; 0: off
    // cold_cycles: a cold page is swapped only once it was cold in this many consecutive
    // cycles (1: at once, etmem's own semantics).
    unsigned coldCycles = 1;
    // Memory tiers. cold_destination: where cold pages go, -1 for swap (the default), else
    // a NUMA node slower than the fastest (checked against the machine at start).
    int coldNode = -1;
    // then_swap_after: pages cold for this many further cycles after they may go to the
    // slow node go on to swap; 0: they stay on the node.
    unsigned thenSwapAfter = 0;
    // node_hot_reserve: promotion leaves this much free on the fast node, as bytes or as a
    // percentage of its memory (one of them is set; both 0: no reserve).
    std::uint64_t hotReserveBytes = 0;
    unsigned hotReservePercent = 0;
    // max_migrate_rate, bytes/s per direction (demotion, promotion); 0: unlimited.
    std::uint64_t maxMigrateRate = 0;
    // etmem 1.1's cslide engine (engines/cslide): node_pair as (hot, cold) pairs, each node
    // at most once: a pair's cold pages go from its hot node to its cold node and its hot
    // pages back. Empty: cold_destination decides.
    std::vector<std::pair<int, int>> nodePairs = {};
    // node_mig_quota in MiB per cycle and direction; -1: not set, 0: nothing migrates.
    std::int64_t migrateQuotaMiB = -1;
    // cslide's task keys 1.1 had for its scan module (vm_flags, anon_only, ign_host), kept as
    // given so the normalized config writes them back; "" when not given.
    std::string vmFlags = {}, anonOnly = {}, ignHost = {};

    bool operator==(const SlideSettings&) const = default;
};

// swap_threshold as the config writes it: the largest unit that writes it exactly ("10g").
std::string swapThresholdText(std::uint64_t bytes);
// cold_destination as the config writes it: "swap" or "node 1".
std::string coldDestinationText(int coldNode);

}  // namespace etmem::slide
