// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/idle_bitmap.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

namespace etmem::kernel {
namespace {

// pread/pwrite of exactly `bytes`, looping over short transfers (sysfs moves at most a page
// per call).
template <typename Transfer>
void transferAll(Transfer transfer, char* data, std::size_t bytes, off_t offset, const char* what) {
    std::size_t done = 0;
    while (done < bytes) {
        ssize_t moved = transfer(data + done, bytes - done, offset + static_cast<off_t>(done));
        if (moved < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), what);
        }
        if (moved == 0) {
            // Past max_pfn: the rest reads as zeros (not idle).
            std::fill(data + done, data + bytes, 0);
            return;
        }
        done += static_cast<std::size_t>(moved);
    }
}

}  // namespace

PfnWordSet::PfnWordSet(std::vector<std::uint64_t> pfns) {
    for (auto pfn : pfns) add(pfn);
    finish();
}

void PfnWordSet::clear() {
    pairs_.clear();
    wordIndex_.clear();
    mask_.clear();
    idle_.clear();
    slotOfRun_.clear();
}

void PfnWordSet::finish() {
    // Neighbouring pages mostly have neighbouring PFNs: add() folded runs into (word, mask)
    // pairs, so the sort handles about one entry per 64 pages instead of one per page, and
    // none at all when the PFNs ascend already (they mostly do).
    auto byWord = [](const Pair& a, const Pair& b) { return a.word < b.word; };
    if (!std::is_sorted(pairs_.begin(), pairs_.end(), byWord))
        std::sort(pairs_.begin(), pairs_.end(), byWord);
    slotOfRun_.resize(pairs_.size());
    for (const auto& pair : pairs_) {
        if (wordIndex_.empty() || wordIndex_.back() != pair.word) {
            wordIndex_.push_back(pair.word);
            mask_.push_back(0);
        }
        mask_.back() |= pair.mask;
        slotOfRun_[pair.run] = wordIndex_.size() - 1;
    }
    pairs_.clear();
    idle_.assign(mask_.size(), 0);
}

template <typename Visit>
void PfnWordSet::forEachWindow(std::size_t maxGapWords, Visit visit) const {
    std::size_t i = 0;
    while (i < wordIndex_.size()) {
        Window window;
        window.firstWord = wordIndex_[i];
        window.firstNeeded = i;
        ++i;
        while (i < wordIndex_.size() && wordIndex_[i] < window.firstWord + kBitmapChunkWords &&
               wordIndex_[i] - wordIndex_[i - 1] <= maxGapWords + 1)
            ++i;
        window.neededCount = i - window.firstNeeded;
        window.words = static_cast<std::size_t>(wordIndex_[i - 1] - window.firstWord + 1);
        if (!visit(window)) return;
    }
}

std::vector<PfnWordSet::Window> PfnWordSet::windows(std::size_t maxGapWords) const {
    std::vector<Window> result;
    forEachWindow(maxGapWords, [&](const Window& window) {
        result.push_back(window);
        return true;
    });
    return result;
}

bool PfnWordSet::markIdle(int bitmapFd, std::stop_token stop) const {
    std::array<std::uint64_t, kBitmapChunkWords> chunk;  // on the stack: no allocation per call
    bool complete = true;
    forEachWindow(kBitmapChunkWords, [&](const Window& window) {
        if (stop.stop_requested()) return complete = false;
        // Zero words are harmless to write: only 1 bits mark pages idle.
        std::fill_n(chunk.begin(), window.words, 0);
        for (std::size_t n = 0; n < window.neededCount; ++n) {
            std::size_t index = window.firstNeeded + n;
            chunk[wordIndex_[index] - window.firstWord] = mask_[index];
        }
        transferAll([bitmapFd](char* data, std::size_t bytes,
                               off_t offset) { return ::pwrite(bitmapFd, data, bytes, offset); },
                    reinterpret_cast<char*>(chunk.data()), window.words * sizeof(std::uint64_t),
                    static_cast<off_t>(window.firstWord * sizeof(std::uint64_t)),
                    "marking pages idle");
        return true;
    });
    return complete;
}

bool PfnWordSet::readIdle(int bitmapFd, std::stop_token stop) {
    std::array<std::uint64_t, kBitmapChunkWords> chunk;
    bool complete = true;
    forEachWindow(kReadGapWords, [&](const Window& window) {
        if (stop.stop_requested()) return complete = false;
        transferAll([bitmapFd](char* data, std::size_t bytes,
                               off_t offset) { return ::pread(bitmapFd, data, bytes, offset); },
                    reinterpret_cast<char*>(chunk.data()), window.words * sizeof(std::uint64_t),
                    static_cast<off_t>(window.firstWord * sizeof(std::uint64_t)),
                    "reading idle bits");
        for (std::size_t n = 0; n < window.neededCount; ++n) {
            std::size_t index = window.firstNeeded + n;
            idle_[index] = chunk[wordIndex_[index] - window.firstWord] & mask_[index];
        }
        return true;
    });
    return complete;
}

std::uint64_t PfnWordSet::idleBitsOfWord(std::uint64_t word) const {
    auto it = std::lower_bound(wordIndex_.begin(), wordIndex_.end(), word);
    if (it == wordIndex_.end() || *it != word) return 0;
    return idle_[static_cast<std::size_t>(it - wordIndex_.begin())];
}

bool PfnWordSet::isIdle(std::uint64_t pfn) const {
    return (idleBitsOfWord(pfn / 64) >> (pfn % 64)) & 1;
}

}  // namespace etmem::kernel
