// SPDX-License-Identifier: MulanPSL-2.0
#include "scanners/damon/kdamond_config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "etmem/kernel/files.hpp"
#include "scanners/damon/damon_sysfs.hpp"

namespace etmem::scanners::damon {
namespace {

namespace fs = std::filesystem;
using kernel::kPageSize;
using kernel::writeText;

// The target's candidates, cut into pieces of (all targets' candidate bytes /
// min_nr_regions), as its initial regions: DAMON's vaddr honours regions given at start
// (it would otherwise spread min_nr_regions over the whole span between the two largest
// gaps, libraries and holes included), and never merges above that size (the limit is
// the context's, over all targets), so the grain holds from the first window on.
// update_us is long by default, so the kernel does not swap them for its three-region
// view during the cycle.
void writeInitialRegions(const fs::path& regions, const KdamondTarget& target, std::uint64_t grain,
                         std::stop_token stop) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pieces;
    for (const auto& vma : target.vmas)
        for (std::uint64_t at = vma.range.start; at < vma.range.end; at += grain)
            pieces.emplace_back(at, std::min(at + grain, vma.range.end));
    writeDamonFile(regions / "nr_regions", std::to_string(pieces.size()), stop);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        writeText(regions / std::to_string(i) / "start", std::to_string(pieces[i].first));
        writeText(regions / std::to_string(i) / "end", std::to_string(pieces[i].second));
    }
}

// A `stat` scheme for target `t` alone, matching every accessed region (nr_accesses >=
// 1): only those are read, and the kernel builds a sysfs directory per tried region each
// window, so leaving the idle ones out keeps the cost with what is hot.
void writeScheme(const fs::path& scheme, std::size_t t, std::stop_token stop) {
    writeText(scheme / "action", "stat");
    auto pattern = scheme / "access_pattern";
    writeText(pattern / "sz/min", "0");
    writeText(pattern / "sz/max", std::to_string(~std::uint64_t{0}));
    writeText(pattern / "nr_accesses/min", "1");
    writeText(pattern / "nr_accesses/max", std::to_string(~std::uint32_t{0}));
    writeText(pattern / "age/min", "0");
    writeText(pattern / "age/max", std::to_string(~std::uint32_t{0}));
    // Filters out every region that is not target t's ("matching: N").
    writeDamonFile(scheme / "filters/nr_filters", "1", stop);
    writeText(scheme / "filters/0/type", "target");
    writeText(scheme / "filters/0/matching", "N");
    writeText(scheme / "filters/0/damon_target_idx", std::to_string(t));
}

}  // namespace

void writeKdamondConfig(const fs::path& kdamond, const DamonAttrs& attrs,
                        std::span<const KdamondTarget> targets, std::stop_token stop) {
    auto context = kdamond / "contexts/0";
    writeDamonFile(kdamond / "contexts/nr_contexts", "1", stop);
    writeText(context / "operations", "vaddr");
    auto monitoring = context / "monitoring_attrs";
    writeText(monitoring / "intervals/sample_us", std::to_string(attrs.sampleUs));
    writeText(monitoring / "intervals/aggr_us", std::to_string(attrs.aggrUs));
    writeText(monitoring / "intervals/update_us", std::to_string(attrs.updateUs));
    // max first: the kernel refuses min > max at commit, not at write, but keep the
    // order that is valid at every step.
    writeText(monitoring / "nr_regions/max", std::to_string(attrs.maxNrRegions));
    writeText(monitoring / "nr_regions/min", std::to_string(attrs.minNrRegions));
    std::uint64_t bytes = 0;
    for (const auto& target : targets)
        for (const auto& vma : target.vmas) bytes += vma.range.end - vma.range.start;
    std::uint64_t grain = std::max<std::uint64_t>(
        kPageSize,
        (bytes / std::max<std::uint64_t>(attrs.minNrRegions, 1)) / kPageSize * kPageSize);
    auto targetsDir = context / "targets";
    auto schemes = context / "schemes";
    writeDamonFile(targetsDir / "nr_targets", std::to_string(targets.size()), stop);
    writeDamonFile(schemes / "nr_schemes", std::to_string(targets.size()), stop);
    for (std::size_t t = 0; t < targets.size(); ++t) {
        auto target = targetsDir / std::to_string(t);
        writeText(target / "pid_target", std::to_string(targets[t].pid));
        writeInitialRegions(target / "regions", targets[t], grain, stop);
        writeScheme(schemes / std::to_string(t), t, stop);
    }
}

}  // namespace etmem::scanners::damon
