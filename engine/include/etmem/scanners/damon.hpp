// SPDX-License-Identifier: MulanPSL-2.0
// The damon scanner's parts that tests and tools reach: its monitoring attributes and its
// claims on kdamonds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "etmem/config.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/kernel/paths.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::scanners::damon {

using kernel::KernelPaths;
using kernel::Vma;

// What the DAMON scanner derives its monitoring attributes from: the project's scan interval
// and its optional region keys (0: derived; see deriveDamonAttrs).
struct DamonTuning {
    std::uint64_t intervalUs = 1'000'000;
    RegionScanConfig region;
};
DamonTuning damonTuningOf(const ProjectConfig& project);

// The monitoring attributes the DAMON scanner writes (microseconds, region counts): the
// given keys, the rest derived from the interval and the candidates' size.
struct DamonAttrs {
    std::uint64_t sampleUs = 0;
    std::uint64_t aggrUs = 0;
    std::uint64_t updateUs = 0;
    std::uint64_t minNrRegions = 0;
    std::uint64_t maxNrRegions = 0;
    bool operator==(const DamonAttrs&) const = default;
};
DamonAttrs deriveDamonAttrs(const DamonTuning& tuning, std::span<const Vma> vmas);

// One of etmem's DAMON kdamonds (<sys>/kernel/mm/damon/admin/kdamonds/<i>), claimed for as
// long as `lock` (an flock on <run>/damon/kdamond-<i>.lock) is held. Creates etmem's pool
// only when nr_kdamonds is 0; never rewrites nr_kdamonds otherwise (that would recreate
// other users' kdamonds). Throws BackendUnavailable when no kdamond of etmem's is free.
struct KdamondClaim {
    std::filesystem::path dir;
    UniqueFd lock;
};
inline constexpr int kDamonPoolSize = 32;
// A cycle's targets share one kdamond, up to this many (each has a scheme whose target filter
// the kernel checks by walking the targets: a window costs regions x targets^2 / 2).
inline constexpr std::size_t kMaxTargetsPerKdamond = 64;
KdamondClaim claimKdamond(const KernelPaths& paths);
// Crash recovery: turns off every kdamond of etmem's that nobody holds but is still on (its
// daemon died). Returns how many it turned off. Touches no kdamond that is not etmem's.
int releaseStaleKdamonds(const KernelPaths& paths);

}  // namespace etmem::scanners::damon
