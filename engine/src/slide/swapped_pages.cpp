// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/swapped_pages.hpp"

#include <algorithm>
#include <iterator>

#include "etmem/kernel/pagemap.hpp"

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

// Both ascending; the union, coalesced, cut to at most kMaxSwappedRanges ranges.
std::vector<PageRange> mergeRanges(const std::vector<PageRange>& a,
                                   const std::vector<PageRange>& b) {
    std::vector<PageRange> all;
    all.reserve(a.size() + b.size());
    std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all),
               [](const PageRange& x, const PageRange& y) { return x.start < y.start; });
    std::vector<PageRange> merged;
    for (const PageRange& range : all) {
        if (!merged.empty() && range.start <= merged.back().end) {
            merged.back().end = std::max(merged.back().end, range.end);
            continue;
        }
        if (merged.size() == kMaxSwappedRanges) break;
        merged.push_back(range);
    }
    return merged;
}

}  // namespace

void SwappedPages::remember(int pagemapFd, std::span<const PageRange> moved, std::stop_token stop) {
    std::vector<PageRange> swapped;
    std::vector<PagemapEntry> buffer;
    for (const PageRange& range : moved) {
        bool complete = readPagemap(
            pagemapFd, range, stop,
            [&](std::uint64_t first, std::span<const PagemapEntry> entries) {
                for (std::size_t i = 0; i < entries.size(); ++i)
                    if (entries[i].swapped()) appendPages(swapped, first + i * kPageSize);
            },
            buffer);
        if (!complete) return;
    }
    ranges_ = mergeRanges(ranges_, swapped);
}

std::uint64_t SwappedPages::takeRefaults(int pagemapFd, std::stop_token stop) {
    std::vector<PageRange> still;
    std::vector<PagemapEntry> buffer;
    std::uint64_t refaults = 0;
    for (const PageRange& range : ranges_) {
        bool complete = readPagemap(
            pagemapFd, range, stop,
            [&](std::uint64_t first, std::span<const PagemapEntry> entries) {
                for (std::size_t i = 0; i < entries.size(); ++i) {
                    if (entries[i].present())
                        ++refaults;
                    else if (entries[i].swapped())
                        appendPages(still, first + i * kPageSize);
                }
            },
            buffer);
        if (!complete) return 0;  // the ranges stay as they were: counted next time
    }
    ranges_ = std::move(still);
    return refaults;
}

std::uint64_t SwappedPages::pages() const {
    std::uint64_t pages = 0;
    for (const PageRange& range : ranges_) pages += range.pages();
    return pages;
}

}  // namespace etmem::slide
