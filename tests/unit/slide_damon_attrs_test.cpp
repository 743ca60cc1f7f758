// SPDX-License-Identifier: MulanPSL-2.0
// The DAMON scanner's monitoring attributes: derived from interval and the candidates' size
// unless the project's region keys give them.
#include <gtest/gtest.h>

#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/scanners/damon.hpp"

namespace etmem::backends {
using namespace etmem::scanners::damon;
namespace {

std::vector<Vma> candidates(std::uint64_t bytes) {
    Vma vma;
    vma.range = PageRange{0x7f0000000000, 0x7f0000000000 + bytes};
    return {vma};
}

TEST(SlideDamonAttrs, DerivedFromIntervalAndResidentSize) {
    DamonTuning tuning;
    tuning.intervalUs = 2'000'000;
    DamonAttrs attrs = deriveDamonAttrs(tuning, candidates(std::uint64_t{150} << 20));
    EXPECT_EQ(attrs.aggrUs, 400'000u);     // interval / 2, at most 400 ms
    EXPECT_EQ(attrs.sampleUs, 20'000u);    // 20 samples a window
    EXPECT_EQ(attrs.minNrRegions, 2400u);  // one per 64 KiB
    EXPECT_EQ(attrs.maxNrRegions, 4800u);  // one per 32 KiB
    EXPECT_EQ(attrs.updateUs, kMaxUpdateIntervalUs);
}

TEST(SlideDamonAttrs, BoundsHoldForTinyAndHugeTargets) {
    DamonTuning tuning;
    tuning.intervalUs = 1'000'000;
    DamonAttrs tiny = deriveDamonAttrs(tuning, candidates(64 * 1024));
    EXPECT_EQ(tiny.aggrUs, 400'000u);
    EXPECT_EQ(tiny.minNrRegions, 10u);
    EXPECT_EQ(tiny.maxNrRegions, 1000u);
    DamonAttrs huge = deriveDamonAttrs(tuning, candidates(std::uint64_t{64} << 30));
    EXPECT_EQ(huge.minNrRegions, 10000u);
    EXPECT_EQ(huge.maxNrRegions, 20000u);
    tuning.intervalUs = 1'200'000'000;
    EXPECT_EQ(deriveDamonAttrs(tuning, candidates(4096)).aggrUs, 400'000u);
    tuning.intervalUs = 150'000;
    EXPECT_EQ(deriveDamonAttrs(tuning, candidates(4096)).aggrUs, 100'000u);
}

TEST(SlideDamonAttrs, GivenKeysWin) {
    DamonTuning tuning;
    tuning.intervalUs = 3'000'000;
    tuning.region = RegionScanConfig{5'000, 100'000, 2'000'000, 20, 50};
    DamonAttrs attrs = deriveDamonAttrs(tuning, candidates(std::uint64_t{1} << 30));
    EXPECT_EQ(attrs, (DamonAttrs{5'000, 100'000, 2'000'000, 20, 50}));
}

TEST(SlideDamonAttrs, FromTheProjectConfig) {
    ProjectConfig project;
    project.interval = 7;
    project.region.maxNrRegions = 123;
    DamonTuning tuning = damonTuningOf(project);
    EXPECT_EQ(tuning.intervalUs, 7'000'000u);
    EXPECT_EQ(tuning.region.maxNrRegions, 123u);
}

}  // namespace
}  // namespace etmem::backends
