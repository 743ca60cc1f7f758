// SPDX-License-Identifier: MulanPSL-2.0
// Which memory of a target the slide engine considers, and how page ranges are batched.
//
// Candidates are the mappings whose pages swap can take: private mappings (anonymous, or
// private file mappings, whose written pages are anonymous copies). Skipped: shared
// mappings, locked ones (VmFlags `lo` or a non-zero `Locked:`), special ones ([vvar],
// [vdso], [vsyscall], hugetlb `ht`, VM_IO `io`, VM_PFNMAP `pf`, mixed maps `mm`) and
// mappings with no access at all (guard pages). Within a candidate mapping only pages that
// are present, anonymous and mapped once (pagemap bits 63, !61, 56) are classified: clean
// file pages would merely be dropped, not swapped, and a page shared after fork cannot be
// paged out by one of its owners.
//
// Transparent huge pages: a THP is accounted as its 512 base pages, all with the same
// access count (idle page tracking only tracks a folio through its head PFN, so the whole
// THP is hot or cold together). A cold THP is paged out as one 2 MiB range, which the
// kernel swaps whole or splits as it can; a hot one stays whole. THP detection is limited
// to mappings that smaps reports with AnonHugePages > 0.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace etmem::kernel {

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kHugePageSize = 2 * 1024 * 1024;
inline constexpr std::uint64_t kPagesPerHugePage = kHugePageSize / kPageSize;
// The kernel's UIO_MAXIOV: the most ranges one process_madvise call accepts.
inline constexpr std::size_t kMaxIovecsPerCall = 1024;

// A half-open virtual address range [start, end), page aligned.
struct PageRange {
    std::uint64_t start = 0;
    std::uint64_t end = 0;

    std::uint64_t pages() const { return (end - start) / kPageSize; }
    bool operator==(const PageRange&) const = default;
};

// One candidate mapping.
struct Vma {
    PageRange range;
    bool mayHaveHugePages = false;     // smaps AnonHugePages > 0
    std::uint64_t residentBytes = 0;   // smaps Rss when parsed (0 from maps)
    std::uint64_t anonymousBytes = 0;  // smaps Anonymous: what the engine may classify
    std::string name;                  // path or [heap]/[stack]/..., "" for anonymous
    // False when smaps shows no anonymous page and the mapping cannot be written (library
    // code, read-only data): it has nothing to classify this cycle, so scans need not walk
    // it. True from maps, which does not tell.
    bool mayHoldCandidatePages = true;
};

// Parses /proc/PID/smaps (or /proc/PID/maps: then only the header lines are used) and
// returns the candidate mappings in address order. With smaps, a mapping with nothing
// resident (Rss: 0 kB) is left out: it has no page to classify. (The engine's state and
// walks follow the resident pages within a mapping, see page_counts.hpp and pagemap.hpp.)
std::vector<Vma> parseCandidateVmas(std::string_view smapsText);

// Sorts ranges and merges those that touch or overlap.
std::vector<PageRange> coalesce(std::vector<PageRange> ranges);

// The most bytes one swap-out call covers: a call the kernel works through for long cannot
// be interrupted, so batches stay small enough to finish in well under 100 ms (64 MiB took
// ~430 ms under emulation in the benchmark; 16 MiB is a quarter of that).
inline constexpr std::uint64_t kMaxBytesPerCall = 16ull << 20;

// Splits ranges into groups of at most maxPerCall iovecs and maxBytes bytes, in order,
// splitting a range that alone exceeds maxBytes.
std::vector<std::vector<iovec>> toIovecBatches(std::span<const PageRange> ranges,
                                               std::size_t maxPerCall = kMaxIovecsPerCall,
                                               std::uint64_t maxBytes = kMaxBytesPerCall);

// Appends a page to a list of ranges kept in ascending order, extending the last range
// when the page follows it.
void appendPages(std::vector<PageRange>& ranges, std::uint64_t address, std::uint64_t pages = 1);

}  // namespace etmem::kernel
