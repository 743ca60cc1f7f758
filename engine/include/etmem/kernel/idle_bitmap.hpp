// SPDX-License-Identifier: MulanPSL-2.0
// Moving bits of /sys/kernel/mm/page_idle/bitmap the efficient way.
//
// The file has one bit per PFN and is read and written in 8-byte words at offset
// pfn / 64 * 8. One read and one write per page costs about 50 s CPU per GiB per round under
// emulation; instead, the PFNs of a round are grouped into words, and whole windows of at
// most 4 KiB (512 words, one kernel page) move per read or write.
#pragma once

#include <cstdint>
#include <span>
#include <stop_token>
#include <vector>

namespace etmem::kernel {

inline constexpr std::size_t kBitmapChunkBytes = 4096;
inline constexpr std::size_t kBitmapChunkWords = kBitmapChunkBytes / sizeof(std::uint64_t);
// A read spans at most this many unneeded words (64 PFNs each) between needed ones: one more
// pread costs less than the kernel's checks of 128 PFNs that may be idle.
inline constexpr std::size_t kReadGapWords = 2;

// The PFNs of one round, as bitmap words: wordIndex[i] is the word (pfn / 64), mask[i] the
// bits of our PFNs in it. Word indices ascend and are unique.
class PfnWordSet {
  public:
    PfnWordSet() = default;
    // pfns in any order, duplicates allowed.
    explicit PfnWordSet(std::vector<std::uint64_t> pfns);

    // Refilling a set: clear(), add() every PFN (any order, duplicates allowed), finish().
    // A round's scanner keeps one set and refills it per batch, so its vectors' memory is
    // reused instead of allocated per batch.
    void clear();
    void add(std::uint64_t pfn) {
        std::uint64_t word = pfn / 64;
        if (pairs_.empty() || pairs_.back().word != word)
            pairs_.push_back(Pair{word, 0, pairs_.size()});
        pairs_.back().mask |= std::uint64_t{1} << (pfn % 64);
    }
    void finish();

    // Answers the idle bits of the last readIdle() for the PFNs given to add(), asked in the
    // same order: a caller walking its pages again needs no search per page (PFNs of a
    // fragmented machine are scattered, so neighbouring pages rarely share a word).
    class Replay {
      public:
        explicit Replay(const PfnWordSet& set) : set_(set) {}
        bool idle(std::uint64_t pfn) {
            // add() began a new run of PFNs wherever the word changed; so does this. The
            // first call moves run_ from ~0 to 0.
            if (pfn / 64 != word_) {
                word_ = pfn / 64;
                bits_ = set_.idle_[set_.slotOfRun_[++run_]];
            }
            return (bits_ >> (pfn % 64)) & 1;
        }

      private:
        const PfnWordSet& set_;
        std::size_t run_ = ~std::size_t{0};
        std::uint64_t word_ = ~std::uint64_t{0};
        std::uint64_t bits_ = 0;
    };
    Replay replay() const { return Replay(*this); }

    std::span<const std::uint64_t> wordIndices() const { return wordIndex_; }
    std::span<const std::uint64_t> masks() const { return mask_; }

    // Windows of consecutive words, each at most kBitmapChunkWords long and starting at a
    // word we need: [firstWord, firstWord + words). Every needed word is in one window. A
    // window spans a gap of at most maxGapWords words we do not need: writing such words
    // (zeros) costs the kernel nothing, but reading one makes it check 64 PFNs, following
    // the reverse map of every idle page among them (other targets' pages too), so reads
    // use small gaps (kReadGapWords) and writes any gap.
    struct Window {
        std::uint64_t firstWord = 0;
        std::size_t words = 0;
        std::size_t firstNeeded = 0;  // index into wordIndices() of the window's first word
        std::size_t neededCount = 0;
    };
    std::vector<Window> windows(std::size_t maxGapWords = kBitmapChunkWords) const;

    // Writes our bits (1 = mark idle) window by window. Returns false if stopped.
    bool markIdle(int bitmapFd, std::stop_token stop) const;
    // Reads the windows and keeps, per word, the idle bits of our PFNs. Returns false if
    // stopped. Afterwards isIdle() answers for our PFNs.
    bool readIdle(int bitmapFd, std::stop_token stop);
    // Whether pfn read as idle in the last readIdle(); false for PFNs not in the set.
    bool isIdle(std::uint64_t pfn) const;
    // The idle bits of one bitmap word (pfn / 64) read in the last readIdle(); 0 if none of
    // ours. Callers walking pages in order cache it: neighbours share words.
    std::uint64_t idleBitsOfWord(std::uint64_t word) const;

  private:
    struct Pair {
        std::uint64_t word;
        std::uint64_t mask;
        std::size_t run;  // its place among add()'s runs
    };
    // Calls visit(window) for each window, as windows() lists them, without a list.
    template <typename Visit>
    void forEachWindow(std::size_t maxGapWords, Visit visit) const;

    std::vector<Pair> pairs_;  // add()'s (word, mask) runs, before finish() sorts them
    std::vector<std::uint64_t> wordIndex_;
    std::vector<std::uint64_t> mask_;
    std::vector<std::uint64_t> idle_;     // per word: idle bits among mask_
    std::vector<std::size_t> slotOfRun_;  // per run of add(): its word's index in wordIndex_
};

}  // namespace etmem::kernel
