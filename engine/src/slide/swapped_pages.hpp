// SPDX-License-Identifier: MulanPSL-2.0
// The pages etmem swapped out of one process, kept across cycles to count refaults: a page
// etmem moved that reads present again in pagemap (bit 63) was faulted back in by the
// process (or read ahead with a neighbour that was). Pagemap on etmem's own pages is used
// rather than the cgroup's workingset_refault_anon: that counter is per cgroup, not per
// task, and counts every page the kernel's own reclaim evicted too.
//
// Memory is bounded: the pages are kept as coalesced address ranges, at most
// kMaxSwappedRanges per process (1 MiB); pages moved beyond that are not followed, and their
// refaults are not counted.
//
// How it stops: it reads pagemap in chunks of at most 16 MiB of address space and checks
// the stop token in between.
#pragma once

#include <cstdint>
#include <span>
#include <stop_token>
#include <vector>

#include "etmem/kernel/memory_map.hpp"

namespace etmem::slide {

inline constexpr std::size_t kMaxSwappedRanges = 65536;

class SwappedPages {
  public:
    // Of `moved` (ascending, as etmem handed them to the mover), follows the pages that
    // read swapped now.
    void remember(int pagemapFd, std::span<const kernel::PageRange> moved, std::stop_token stop);
    // The followed pages that are present again: counted and no longer followed. Pages still
    // swapped stay followed; others (unmapped, freed) are dropped.
    std::uint64_t takeRefaults(int pagemapFd, std::stop_token stop);

    std::uint64_t pages() const;
    std::span<const kernel::PageRange> ranges() const { return ranges_; }

  private:
    std::vector<kernel::PageRange> ranges_;  // ascending, not overlapping
};

}  // namespace etmem::slide
