// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine's per-target state for one cycle: a weighted access count per resident
// page, kept in fixed chunks of kChunkPages pages (2 MiB of address space) that exist only
// where a page was seen present or accessed. A target that reserves 1 TiB and touches
// 16 MiB holds 8 chunks, not 256 Mi counts.
//
// Memory: kChunkPages bytes plus about 32 bytes of bookkeeping per chunk, i.e. 1.06 bytes
// per page where chunks are full (dense memory), at worst ~544 bytes per page for a single
// page per 2 MiB. A count byte is 0..kMaxCount; kNotCandidate marks a page the act stage
// found not to be a resident candidate, kChosenForSwap one it handed to the mover.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "etmem/kernel/memory_map.hpp"

namespace etmem::slide {

inline constexpr std::uint64_t kChunkPages = 512;
inline constexpr std::uint64_t kChunkBytes = kChunkPages * kernel::kPageSize;

class PageCounts {
  public:
    struct Chunk {
        std::uint64_t base = 0;                  // address of its first page, kChunkBytes aligned
        std::unique_ptr<std::uint8_t[]> counts;  // kChunkPages bytes

        std::span<std::uint8_t> pages() { return {counts.get(), kChunkPages}; }
        std::span<const std::uint8_t> pages() const { return {counts.get(), kChunkPages}; }
    };

    // The chunks holding [address, address + pages * kPageSize) exist afterwards (counts 0
    // where new). Calls touch(count&) for every page, so callers can add a weight.
    template <typename Touch>
    void forPages(std::uint64_t address, std::uint64_t pages, Touch touch) {
        std::uint64_t end = address + pages * kernel::kPageSize;
        while (address < end) {
            Chunk& chunk = chunkFor(address);
            std::uint64_t chunkEnd = std::min(end, chunk.base + kChunkBytes);
            auto first = static_cast<std::size_t>((address - chunk.base) / kernel::kPageSize);
            auto last = static_cast<std::size_t>((chunkEnd - chunk.base) / kernel::kPageSize);
            for (std::size_t i = first; i < last; ++i) touch(chunk.counts[i]);
            address = chunkEnd;
        }
    }
    // Like forPages, but only for pages whose chunk exists (creates nothing): for region
    // observations that may span unpopulated address space. Costs what the chunks cost.
    template <typename Touch>
    void forExistingPages(std::uint64_t address, std::uint64_t pages, Touch touch) {
        std::uint64_t end = address + pages * kernel::kPageSize;
        for (std::size_t at = lowerBound(address - address % kChunkBytes);
             at < chunks_.size() && chunks_[at].base < end; ++at) {
            Chunk& chunk = chunks_[at];
            std::uint64_t from = std::max(address, chunk.base);
            std::uint64_t to = std::min(end, chunk.base + kChunkBytes);
            for (std::uint64_t a = from; a < to; a += kernel::kPageSize)
                touch(chunk.counts[(a - chunk.base) / kernel::kPageSize]);
        }
    }
    // Makes sure the pages have chunks (their counts stay as they are).
    void ensure(std::uint64_t address, std::uint64_t pages) {
        forPages(address, pages, [](std::uint8_t&) {});
    }
    // The count byte of the page at address, or nullptr if no chunk holds it.
    std::uint8_t* find(std::uint64_t address);
    std::uint8_t countAt(std::uint64_t address) const;

    std::span<Chunk> chunks() { return chunks_; }
    std::span<const Chunk> chunks() const { return chunks_; }
    // Heap bytes held (counts and index), for tests and benchmarks.
    std::size_t bytesHeld() const;
    void clear();

  private:
    Chunk& chunkFor(std::uint64_t address);
    std::size_t lowerBound(std::uint64_t base) const;
    std::size_t indexOf(std::uint64_t address) const;  // chunks_.size() if none

    std::vector<Chunk> chunks_;  // ascending base
    std::size_t last_ = 0;       // the chunk used last: walks go in address order
};

}  // namespace etmem::slide
