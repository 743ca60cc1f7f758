// SPDX-License-Identifier: MulanPSL-2.0
// The idle-age report's buckets and the pages followed for refaults (on a pagemap written
// to a file: the host has no swap to make real swapped entries with).
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <vector>

#include "etmem/kernel/pagemap.hpp"
#include "etmem/unique_fd.hpp"
#include "slide/cold_streaks.hpp"
#include "slide/swapped_pages.hpp"

using namespace etmem;
using namespace etmem::kernel;
using namespace etmem::slide;

namespace {

TEST(SlideIdleAges, AStreakFallsInTheBucketOfTheLargestPowerOfTwoItReaches) {
    EXPECT_EQ(idleAgeBucket(1), 0u);
    EXPECT_EQ(idleAgeBucket(2), 1u);
    EXPECT_EQ(idleAgeBucket(3), 1u);
    EXPECT_EQ(idleAgeBucket(4), 2u);
    EXPECT_EQ(idleAgeBucket(127), 6u);
    EXPECT_EQ(idleAgeBucket(kMaxStreak), kIdleAgeBuckets - 1);
    EXPECT_EQ(idleAgeBucket(0), 0u);  // never asked for, but in range
}

TEST(SlideIdleAges, BytesAreCumulativeFromTheOldest) {
    std::vector<std::uint64_t> pages(kIdleAgeBuckets, 0);
    pages[0] = 5;  // cold for 1 cycle
    pages[2] = 3;  // cold for 4..7 cycles
    pages[kIdleAgeBuckets - 1] = 1;
    const auto bytes = cumulativeIdleBytes(pages);
    EXPECT_EQ(bytes[0], 9 * kPageSize);
    EXPECT_EQ(bytes[1], 4 * kPageSize);
    EXPECT_EQ(bytes[2], 4 * kPageSize);
    EXPECT_EQ(bytes[3], 1 * kPageSize);
    EXPECT_EQ(bytes[kIdleAgeBuckets - 1], 1 * kPageSize);
}

constexpr std::uint64_t kSwapped = std::uint64_t{1} << 62;
constexpr std::uint64_t kPresent = std::uint64_t{1} << 63;

// A pagemap as a file: entry i at offset 8 * i, for pages 0..63.
class FakePagemap {
  public:
    FakePagemap() {
        char name[] = "/tmp/etmem-pagemap-XXXXXX";
        fd_ = UniqueFd(::mkstemp(name));
        ::unlink(name);
        set({});
    }
    void set(const std::map<std::uint64_t, std::uint64_t>& entries) {
        std::vector<std::uint64_t> all(64, 0);
        for (const auto& [page, raw] : entries) all[page] = raw;
        ASSERT_EQ(::pwrite(fd_.get(), all.data(), all.size() * 8, 0),
                  static_cast<ssize_t>(all.size() * 8));
    }
    int fd() const { return fd_.get(); }

  private:
    UniqueFd fd_;
};

PageRange pages(std::uint64_t first, std::uint64_t end) {
    return {first * kPageSize, end * kPageSize};
}

TEST(SlideSwappedPages, FollowsOnlyThePagesThatReadSwappedAndCountsTheOnesBack) {
    FakePagemap pagemap;
    // Of the pages handed to the mover, 1..4 and 10 were swapped, 5 stayed present.
    pagemap.set({{1, kSwapped},
                 {2, kSwapped},
                 {3, kSwapped},
                 {4, kSwapped},
                 {5, kPresent},
                 {10, kSwapped}});
    SwappedPages swapped;
    const std::vector<PageRange> moved = {pages(1, 6), pages(10, 11)};
    swapped.remember(pagemap.fd(), moved, {});
    EXPECT_EQ(swapped.pages(), 5u);
    ASSERT_EQ(swapped.ranges().size(), 2u);
    EXPECT_EQ(swapped.ranges()[0], pages(1, 5));

    // Next cycle: 1 and 10 are back (refaults), 2 still out, 3 unmapped, 4 still out.
    pagemap.set({{1, kPresent}, {2, kSwapped}, {4, kSwapped}, {10, kPresent}});
    EXPECT_EQ(swapped.takeRefaults(pagemap.fd(), {}), 2u);
    EXPECT_EQ(swapped.pages(), 2u);
    EXPECT_EQ(swapped.takeRefaults(pagemap.fd(), {}), 0u);  // counted once

    // Moved again later: merged with what is still followed.
    pagemap.set({{2, kSwapped}, {3, kSwapped}, {4, kSwapped}});
    swapped.remember(pagemap.fd(), std::vector<PageRange>{pages(3, 4)}, {});
    EXPECT_EQ(swapped.pages(), 3u);
    ASSERT_EQ(swapped.ranges().size(), 1u);
    EXPECT_EQ(swapped.ranges()[0], pages(2, 5));
}

TEST(SlideSwappedPages, AStoppedCheckCountsNothingAndForgetsNothing) {
    FakePagemap pagemap;
    pagemap.set({{1, kSwapped}});
    SwappedPages swapped;
    swapped.remember(pagemap.fd(), std::vector<PageRange>{pages(1, 2)}, {});
    pagemap.set({{1, kPresent}});
    std::stop_source stopped;
    stopped.request_stop();
    EXPECT_EQ(swapped.takeRefaults(pagemap.fd(), stopped.get_token()), 0u);
    EXPECT_EQ(swapped.pages(), 1u);
    EXPECT_EQ(swapped.takeRefaults(pagemap.fd(), {}), 1u);
}

}  // namespace
