// SPDX-License-Identifier: MulanPSL-2.0
// One target of the slide engine during one cycle: what the stages (counting, cold streaks,
// eviction) keep of it, and the walk over its resident candidate pages they share.
#pragma once

#include <memory>
#include <stdexcept>
#include <stop_token>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/log.hpp"
#include "etmem/process.hpp"
#include "etmem/slide/page_counts.hpp"
#include "etmem/unique_fd.hpp"
#include "slide/swapped_pages.hpp"

namespace etmem::slide {

// The target is not handled this cycle for a reason the operator should hear of.
class TargetSkipped : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct TargetState {
    Target target;  // the engine's own pidfd
    LogContext log;
    std::vector<kernel::Vma> vmas;  // the candidate mappings
    UniqueFd pagemap;
    bool dropped = false;
    // Counting: the weighted access count of each page, and the scanner's session.
    PageCounts counts;
    std::unique_ptr<backends::ScanSession> session;
    bool presentOnly = false;  // the scanner reports present pages only
    // Cold streaks: the consecutive cold cycles of each cold page, as of the previous cycle
    // and as of this one (1 byte per cold resident page).
    PageCounts previousStreaks;
    PageCounts streaks;
    // The pages etmem swapped out of the process in earlier cycles, for refaults.
    SwappedPages swapped;
    bool classified = false;  // this cycle's eviction classified its pages
};

// Visits the resident candidate pages (present, anonymous, mapped once) of the target's
// candidate mappings in address order, skipping the mappings that hold none (as the
// idle_page scanner does). Returns false if stopped.
template <typename Visit>
bool forEachCandidatePage(const TargetState& state, kernel::PresentPagemap& present,
                          std::stop_token stop, Visit visit) {
    for (const auto& vma : state.vmas) {
        if (!vma.mayHoldCandidatePages) continue;
        bool complete =
            present.read(vma.range, readStraight(vma), stop,
                         [&](std::uint64_t address, std::span<const kernel::PagemapEntry> entries) {
                             for (std::size_t i = 0; i < entries.size(); ++i)
                                 if (entries[i].swappable()) visit(address + i * kernel::kPageSize);
                         });
        if (!complete) return false;
    }
    return true;
}

}  // namespace etmem::slide
