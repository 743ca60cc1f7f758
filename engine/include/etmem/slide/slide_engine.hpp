// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine: per cycle, `loop` scan rounds count how often each candidate page was
// accessed (weight 1 for a read, 3 for a write where the scanner tells them apart); act()
// classifies every resident candidate page (count >= T: hot, else cold) and moves the cold
// ones to swap through a mover (etmem/movers/mover.hpp).
//
// Cost follows what is resident, not the address space. State: one count byte per page in
// 2 MiB chunks that exist only where pages were seen (page_counts.hpp), freed at the end of
// act(). Walks go where pages are present (PAGEMAP_SCAN, pagemap.hpp); without PAGEMAP_SCAN a
// target whose candidate mappings span more than kMaxVirtualPagesWithoutPagemapScan pages
// is skipped with a message. Per-round buffers are bounded (idle_page: batches of 64 Ki
// pages). Counts saturate at 254, so for loop > 84 a T above 254 is treated as 254.
//
// The stages, a file each under engine/src/slide/: backend_choice (the scanner and the
// mover, once per task), counting (discovery, baseline, scan rounds), cold_streaks
// (cold_cycles), eviction (classify, select through the gates and the selector, batch into
// calls of at most kMaxBytesPerCall and kMaxIovecsPerCall ranges, pace through
// cycle_pacing, confirm through the mover), on a worker_pool of max_threads workers made
// once per cycle. Each checks the stop token between chunks of at most 16 MiB of address
// space or 4 KiB of bitmap, and returns early when it is set.
//
// Swapped pages are counted from what the kernel confirms: after the swap-out, the cold
// pages whose pagemap entry reads "swapped" (bit 62). The swapper's own return value is
// only logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/movers/node_pages.hpp"
#include "etmem/task_engine.hpp"

namespace etmem::slide {

inline constexpr std::uint8_t kMaxCount = 254;

// Weight of one observation: 0 idle, 1 read, 3 written.
std::uint8_t weightOf(kernel::PageAccess access);
// counts[i] += weight, saturating at kMaxCount.
void addWeight(std::uint8_t& count, std::uint8_t weight);

// Hot/cold split and histogram (buckets 0..3*loop; counts above the last bucket land in
// it) of one target's counts, for the pages `classified` says are resident candidates.
struct Classification {
    std::uint64_t hot = 0;
    std::uint64_t cold = 0;
    std::vector<std::uint64_t> histogram;
};
bool isHot(std::uint8_t count, unsigned threshold);
void classifyInto(Classification& result, std::uint8_t count, unsigned loop, unsigned threshold);

// The act stage's choice of what to swap out of one target, made after classification and
// before the swap-out. swapBudget[k] is how many resident candidate pages with access count k
// may go out; it starts as every cold page (the count of pages at k for k < T, 0 for hot
// counts). A gate may lower budgets (keep a share in DRAM by clearing the hotter cold counts
// first) or clear them all (nothing goes out). Within a count, pages go in address order.
struct ColdSelection {
    const Target& target;
    std::uint64_t residentPages = 0;        // resident candidate pages (hot + cold)
    unsigned threshold = 0;                 // T
    std::vector<std::uint64_t> swapBudget;  // index: count 0..kMaxCount
};
using ColdSelector = std::function<void(ColdSelection&)>;

struct SlideOptions {
    backends::ScannerChoice scanner;  // auto
    backends::SwapperChoice swapper;  // auto
    kernel::KernelPaths paths;
    // Set to use these backends instead of probing (tests); ownership moves to the engine.
    std::shared_ptr<backends::AccessScanner> scannerOverride;
    std::shared_ptr<backends::Swapper> swapperOverride;
    std::optional<bool> swapActiveOverride;
    // Tests: pretend the kernel has no PAGEMAP_SCAN (the chunked pagemap path).
    bool withoutPagemapScan = false;
    // Filters / orders the cold pages of each target before swap-out (gates); none: all.
    ColdSelector selectCold;
    // Tests: this move_pages(2) for memory tiers instead of the kernel's.
    std::shared_ptr<movers::PageNodes> pageNodesOverride;
};

std::unique_ptr<TaskEngine> makeSlideEngine(const EngineContext& context,
                                            SlideOptions options = {});

}  // namespace etmem::slide
