// SPDX-License-Identifier: MulanPSL-2.0
// The monitoring attributes the damon scanner gives DAMON (see etmem/scanners/damon.hpp).
#include <algorithm>

#include "etmem/scanners/damon.hpp"

namespace etmem::scanners::damon {

using kernel::kPageSize;

DamonTuning damonTuningOf(const ProjectConfig& project) {
    return DamonTuning{std::uint64_t{project.interval} * 1'000'000, project.region};
}

DamonAttrs deriveDamonAttrs(const DamonTuning& tuning, std::span<const Vma> vmas) {
    const RegionScanConfig& given = tuning.region;
    DamonAttrs attrs;
    // A window is half the interval (every window is read, so the interval is seen whole),
    // at least 100 ms and at most 400 ms. A stop waits for the tried-regions request in
    // flight, which holds DAMON's sysfs lock (and so every kdamond's "off") until its window
    // closes: with windows of 1 s etmemd took 2.2 s to stop mid-interval; 400 ms keeps it
    // under half a second, for more window reads on long intervals.
    attrs.aggrUs = given.aggrIntervalUs != 0
                       ? given.aggrIntervalUs
                       : std::clamp<std::uint64_t>(tuning.intervalUs / 2, 100'000, 400'000);
    attrs.aggrUs = std::min(attrs.aggrUs, std::max<std::uint64_t>(tuning.intervalUs, 1000));
    // 20 samples a window: DAMON merges neighbours whose counts differ by less than a tenth
    // of the samples, so fewer would blur hot and cold.
    attrs.sampleUs = given.sampleIntervalUs != 0 ? given.sampleIntervalUs
                                                 : std::max<std::uint64_t>(attrs.aggrUs / 20, 1000);
    attrs.sampleUs = std::min(attrs.sampleUs, attrs.aggrUs);
    // The session lasts one cycle and starts from the candidates (see writeInitialRegions):
    // no need for the kernel to re-read the address space meanwhile.
    attrs.updateUs = given.updateIntervalUs != 0 ? given.updateIntervalUs : kMaxUpdateIntervalUs;
    // Regions small enough to split down to where hot and cold meet. The session gives DAMON
    // min_nr_regions equal pieces of the candidates and DAMON never merges above that size,
    // so min sets the coarsest grain from the first window on: one region per 64 KiB of
    // what the target has resident; max, twice that, lets them split further (DAMON splits
    // only below max / 2). Bounded so the per-window read stays cheap.
    std::uint64_t bytes = 0;
    for (const auto& vma : vmas) bytes += vma.range.end - vma.range.start;
    attrs.minNrRegions = given.minNrRegions != 0
                             ? given.minNrRegions
                             : std::clamp<std::uint64_t>(bytes / (64 * 1024), 10, 10000);
    attrs.maxNrRegions = given.maxNrRegions != 0
                             ? given.maxNrRegions
                             : std::clamp<std::uint64_t>(bytes / (32 * 1024), 1000, 20000);
    attrs.maxNrRegions = std::max(attrs.maxNrRegions, attrs.minNrRegions);
    return attrs;
}

}  // namespace etmem::scanners::damon
