// SPDX-License-Identifier: MulanPSL-2.0
// The page_idle bitmap word/chunk arithmetic, against a temp file standing in for
// /sys/kernel/mm/page_idle/bitmap (the real kernel is exercised in the VM tests).
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "etmem/kernel/idle_bitmap.hpp"
#include "etmem/unique_fd.hpp"

using namespace etmem::kernel;

namespace {

class FakeBitmapFile {
  public:
    explicit FakeBitmapFile(std::size_t words) : words_(words) {
        char path[] = "/tmp/slide-bitmap-XXXXXX";
        fd_.reset(::mkstemp(path));
        ::unlink(path);
        std::vector<std::uint64_t> zeros(words, 0);
        EXPECT_EQ(::pwrite(fd_.get(), zeros.data(), words * 8, 0), static_cast<ssize_t>(words * 8));
    }
    int fd() const { return fd_.get(); }
    std::vector<std::uint64_t> words() const {
        std::vector<std::uint64_t> data(words_);
        EXPECT_EQ(::pread(fd_.get(), data.data(), words_ * 8, 0), static_cast<ssize_t>(words_ * 8));
        return data;
    }
    void setBit(std::uint64_t pfn) {
        auto data = words();
        data[pfn / 64] |= std::uint64_t{1} << (pfn % 64);
        EXPECT_EQ(::pwrite(fd_.get(), data.data(), words_ * 8, 0),
                  static_cast<ssize_t>(words_ * 8));
    }

  private:
    std::size_t words_;
    etmem::UniqueFd fd_;
};

bool bitSet(const std::vector<std::uint64_t>& words, std::uint64_t pfn) {
    return (words[pfn / 64] >> (pfn % 64)) & 1;
}

}  // namespace

TEST(SlideIdleBitmap, GroupsPfnsIntoUniqueAscendingWords) {
    PfnWordSet set({130, 1, 0, 63, 64, 1, 200});
    EXPECT_EQ(std::vector<std::uint64_t>(set.wordIndices().begin(), set.wordIndices().end()),
              (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_EQ(set.masks()[0], (1ull << 0) | (1ull << 1) | (1ull << 63));
    EXPECT_EQ(set.masks()[1], 1ull << 0);
    EXPECT_EQ(set.masks()[2], 1ull << 2);
    EXPECT_EQ(set.masks()[3], 1ull << 8);
}

TEST(SlideIdleBitmap, WindowsCoverEveryWordAndMoveAtMostFourKiB) {
    std::mt19937_64 random(7);
    std::vector<std::uint64_t> pfns;
    for (int i = 0; i < 20000; ++i) pfns.push_back(random() % (1u << 22));
    for (std::uint64_t pfn = 5000000; pfn < 5100000; ++pfn) pfns.push_back(pfn);  // a dense run
    PfnWordSet set(pfns);
    std::size_t covered = 0;
    std::uint64_t lastEnd = 0;
    for (const auto& window : set.windows()) {
        EXPECT_LE(window.words * sizeof(std::uint64_t), kBitmapChunkBytes);
        EXPECT_GE(window.firstWord, lastEnd);  // windows do not overlap
        EXPECT_EQ(window.firstWord, set.wordIndices()[window.firstNeeded]);
        for (std::size_t n = 0; n < window.neededCount; ++n) {
            auto word = set.wordIndices()[window.firstNeeded + n];
            EXPECT_LT(word - window.firstWord, window.words);
        }
        covered += window.neededCount;
        lastEnd = window.firstWord + window.words;
    }
    EXPECT_EQ(covered, set.wordIndices().size());
    // The dense run needs ceil(100000 / 64 / 512) windows, not one per word.
    EXPECT_LT(set.windows().size(), 20000u + 4u);
}

TEST(SlideIdleBitmap, MarkIdleWritesExactlyOurBits) {
    FakeBitmapFile file(4096);
    std::vector<std::uint64_t> pfns{3, 64, 65, 40000, 40001, 262143, 100000};
    PfnWordSet set(pfns);
    ASSERT_TRUE(set.markIdle(file.fd(), std::stop_token{}));
    auto words = file.words();
    std::set<std::uint64_t> ours(pfns.begin(), pfns.end());
    std::size_t setBits = 0;
    for (std::uint64_t pfn = 0; pfn < 4096 * 64; ++pfn) {
        if (bitSet(words, pfn)) {
            ++setBits;
            EXPECT_TRUE(ours.contains(pfn)) << pfn;
        }
    }
    EXPECT_EQ(setBits, ours.size());
}

TEST(SlideIdleBitmap, ReadIdleKeepsOnlyOurBitsAndAnswersPerPfn) {
    FakeBitmapFile file(4096);
    // The "kernel" says these are idle: some ours, some not.
    for (std::uint64_t pfn : {3u, 65u, 66u, 40001u, 200000u}) file.setBit(pfn);
    PfnWordSet set({3, 64, 65, 40000, 40001, 100000});
    ASSERT_TRUE(set.readIdle(file.fd(), std::stop_token{}));
    EXPECT_TRUE(set.isIdle(3));
    EXPECT_FALSE(set.isIdle(64));
    EXPECT_TRUE(set.isIdle(65));
    EXPECT_FALSE(set.isIdle(66));  // idle, but not ours
    EXPECT_FALSE(set.isIdle(40000));
    EXPECT_TRUE(set.isIdle(40001));
    EXPECT_FALSE(set.isIdle(100000));
    EXPECT_FALSE(set.isIdle(200000));
}

TEST(SlideIdleBitmap, AReusedSetReplaysScatteredPfnsInTheirOrder) {
    // Scattered PFNs, some sharing words out of order, one repeated (a THP's head): the
    // replay answers each in the order given, as isIdle does, after the set was refilled.
    FakeBitmapFile file(4096);
    std::mt19937_64 random(9);
    std::vector<std::uint64_t> pfns;
    for (int i = 0; i < 3000; ++i) pfns.push_back(random() % (4096 * 64));
    pfns.insert(pfns.end(), {70, 71, 5, 70, 70, 64 * 4095 + 63});
    std::set<std::uint64_t> idle;
    for (std::size_t i = 0; i < pfns.size(); i += 3) idle.insert(pfns[i]);
    for (auto pfn : idle) file.setBit(pfn);
    PfnWordSet set({1, 2, 3});  // refilled below: nothing of this may remain
    set.clear();
    for (auto pfn : pfns) set.add(pfn);
    set.finish();
    ASSERT_TRUE(std::is_sorted(set.wordIndices().begin(), set.wordIndices().end()));
    ASSERT_TRUE(set.readIdle(file.fd(), std::stop_token{}));
    auto replay = set.replay();
    for (auto pfn : pfns) {
        ASSERT_EQ(replay.idle(pfn), idle.contains(pfn)) << "pfn " << pfn;
        ASSERT_EQ(set.isIdle(pfn), idle.contains(pfn)) << "pfn " << pfn;
    }
}

TEST(SlideIdleBitmap, ReadingPastTheEndReadsNotIdle) {
    FakeBitmapFile file(2);  // 128 PFNs: like max_pfn, reads beyond it return nothing
    file.setBit(5);
    PfnWordSet set({5, 1000000});
    ASSERT_TRUE(set.readIdle(file.fd(), std::stop_token{}));
    EXPECT_TRUE(set.isIdle(5));
    EXPECT_FALSE(set.isIdle(1000000));
}

TEST(SlideIdleBitmap, StopsBetweenChunks) {
    FakeBitmapFile file(16);
    std::stop_source stop;
    stop.request_stop();
    PfnWordSet set({1, 2, 3});
    EXPECT_FALSE(set.markIdle(file.fd(), stop.get_token()));
    EXPECT_FALSE(bitSet(file.words(), 1));
}

TEST(SlideIdleBitmap, ReadWindowsSkipLargeGapsOfWordsNotNeeded) {
    // Words 0, 1, 3 (gap of one), 10 (gap of six), 11.
    PfnWordSet set({0, 64, 3 * 64, 10 * 64 + 5, 11 * 64});
    auto reads = set.windows(kReadGapWords);
    ASSERT_EQ(reads.size(), 2u);
    EXPECT_EQ(reads[0].firstWord, 0u);
    EXPECT_EQ(reads[0].words, 4u);  // 0..3, one unneeded word in between
    EXPECT_EQ(reads[0].neededCount, 3u);
    EXPECT_EQ(reads[1].firstWord, 10u);
    EXPECT_EQ(reads[1].words, 2u);
    EXPECT_EQ(set.windows().size(), 1u);  // writes: zeros are free, one window
}
