// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/slide/page_counts.hpp"

#include <algorithm>

namespace etmem::slide {

using namespace etmem::kernel;

std::size_t PageCounts::lowerBound(std::uint64_t base) const {
    auto it = std::lower_bound(chunks_.begin(), chunks_.end(), base,
                               [](const Chunk& chunk, std::uint64_t b) { return chunk.base < b; });
    return static_cast<std::size_t>(it - chunks_.begin());
}

PageCounts::Chunk& PageCounts::chunkFor(std::uint64_t address) {
    std::uint64_t base = address - address % kChunkBytes;
    // Walks visit addresses in ascending order: the last chunk or the next one is the usual
    // answer, and appending at the end is the usual insertion.
    if (last_ < chunks_.size() && chunks_[last_].base == base) return chunks_[last_];
    if (last_ + 1 < chunks_.size() && chunks_[last_ + 1].base == base) return chunks_[++last_];
    std::size_t at =
        chunks_.empty() || chunks_.back().base < base ? chunks_.size() : lowerBound(base);
    if (at == chunks_.size() || chunks_[at].base != base) {
        Chunk chunk;
        chunk.base = base;
        chunk.counts = std::make_unique<std::uint8_t[]>(kChunkPages);  // zeroed
        chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(at), std::move(chunk));
    }
    last_ = at;
    return chunks_[at];
}

std::size_t PageCounts::indexOf(std::uint64_t address) const {
    std::uint64_t base = address - address % kChunkBytes;
    std::size_t at = lowerBound(base);
    return at < chunks_.size() && chunks_[at].base == base ? at : chunks_.size();
}

std::uint8_t* PageCounts::find(std::uint64_t address) {
    std::size_t at = indexOf(address);
    if (at == chunks_.size()) return nullptr;
    return &chunks_[at].counts[(address - chunks_[at].base) / kPageSize];
}

std::uint8_t PageCounts::countAt(std::uint64_t address) const {
    std::size_t at = indexOf(address);
    if (at == chunks_.size()) return 0;
    return chunks_[at].counts[(address - chunks_[at].base) / kPageSize];
}

std::size_t PageCounts::bytesHeld() const {
    return chunks_.capacity() * sizeof(Chunk) + chunks_.size() * kChunkPages;
}

void PageCounts::clear() {
    std::vector<Chunk>().swap(chunks_);  // gives the memory back
    last_ = 0;
}

}  // namespace etmem::slide
