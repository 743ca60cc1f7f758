// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's gates on the slide engine's act stage: when a cycle may swap, how much of a
// target it may swap, and the swap-cache marks. The rules are pure functions over what
// /proc says (so they are unit-tested on text); Gates reads /proc and applies them.
//
// As etmem 1.1 has them (etmemd_slide.c, etmemd_migrate.c):
//  - sysmem_threshold N: swap only while MemFree * 100 / MemTotal < N (1.1 reads MemFree,
//    not MemAvailable: page cache the kernel could drop does not count as free);
//  - swap_threshold S: leave a process alone while its VmRSS <= S;
//  - dram_percent P: keep P% of the process's memory (VmRSS + VmSwap) resident: swap at most
//    VmRSS - P% of it this cycle, the lowest access counts first, and never a hot page;
//  - swapcache_high_wmark H / swapcache_low_wmark L: when SwapCached > H% of MemTotal,
//    reclaim the swap cache down to L% (openEuler's etmem_swap: ioctl on /proc/PID/swap_pages).
//  - swap_flag: swap only mappings the application marked (openEuler's etmem_scan VMA flag).
// Differences from 1.1, on purpose: swap_threshold applies on its own (1.1 consults it only
// when sysmem_threshold is set), and out-of-range values are refused by the validator
// (1.1 ignored some with a warning).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/config.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/process.hpp"

namespace etmem::slide {

struct GateSettings {
    std::optional<unsigned> sysmemThreshold;
    std::optional<unsigned> swapcacheHighWmark;
    std::optional<unsigned> swapcacheLowWmark;
    std::uint64_t swapThresholdBytes = 0;  // 0: not set
    unsigned dramPercent = 0;              // 0: not set
    bool swapFlag = false;

    static GateSettings of(const ProjectConfig& project, const TaskConfig& task);
};

// The /proc/meminfo fields the gates use, in kB.
struct MemInfo {
    std::uint64_t totalKb = 0;
    std::uint64_t freeKb = 0;
    std::uint64_t swapCachedKb = 0;
};
std::optional<MemInfo> parseMemInfo(std::string_view text);

// VmRSS and VmSwap of /proc/PID/status, in kB.
struct ProcessMemory {
    std::uint64_t rssKb = 0;
    std::uint64_t swapKb = 0;
};
std::optional<ProcessMemory> parseProcessStatus(std::string_view text);

// MemFree as a whole percentage of MemTotal (rounded down, as 1.1 computes it).
unsigned freePercent(const MemInfo& memory);
bool systemAllowsSwap(const MemInfo& memory, unsigned sysmemThreshold);
bool processAllowsSwap(const ProcessMemory& process, std::uint64_t swapThresholdBytes);
// How many pages a cycle may swap so that dramPercent of VmRSS + VmSwap stays resident.
std::uint64_t dramSwapBudgetPages(const ProcessMemory& process, unsigned dramPercent);
// Whether SwapCached is above highWmark % of MemTotal, and how many kB are above lowWmark %.
bool swapCacheAboveHigh(const MemInfo& memory, unsigned highWmark);
std::uint64_t swapCacheExcessKb(const MemInfo& memory, unsigned lowWmark);

// Limits a per-access-count swap budget (pagesByCount[c]: the cold pages whose count is c)
// to `budget` pages in all, lowest count first: the coldest go, the warmest cold stay.
void keepColdestFirst(std::vector<std::uint64_t>& pagesByCount, std::uint64_t budget);

inline constexpr std::uint64_t kNoBudget = std::numeric_limits<std::uint64_t>::max();

struct GateDecision {
    bool swap = true;
    std::uint64_t budgetPages = kNoBudget;
    std::string note;   // why the gate held or limited swapping (journal), "" when it did not
    std::string error;  // what keeps a configured gate from working (LastError), or ""
};

// The gates of one task. Reads /proc under paths; stateless between cycles.
class Gates {
  public:
    Gates(GateSettings settings, kernel::KernelPaths paths);

    // Once per cycle: sysmem_threshold and swap_flag.
    GateDecision forCycle() const;
    // Per target: swap_threshold and dram_percent.
    GateDecision forTarget(const Target& target) const;
    // After a target's swap-out: the swap-cache marks. Returns an error sentence or "".
    std::string afterSwap(const Target& target) const;

  private:
    std::optional<MemInfo> readMemInfo() const;

    GateSettings settings_;
    kernel::KernelPaths paths_;
};

}  // namespace etmem::slide
