// SPDX-License-Identifier: MulanPSL-2.0
// The psi engine's task keys (etmem 1.1's names), as a task config holds them (TaskConfig::psi).
//
// Each field is one row of engine/src/engines/psi/psi_keys.cpp, which reads, checks and writes
// it in every file form. Rates are fractions of what may be reclaimed in one round; pressure
// is PSI "some" in percent of wall time, as memory.pressure's avg10 reads.
#pragma once

#include <cstdint>

namespace etmem::psi {

// Ranges (inclusive) and 1.1's defaults.
inline constexpr double kMinPressure = 0.01, kMaxPressure = 100.0, kDefaultPressure = 0.1;
inline constexpr double kMinReclaimRate = 0.001, kMaxReclaimRate = 1.0;
inline constexpr double kDefaultReclaimRate = 0.05;
inline constexpr double kDefaultReclaimRateMin = 0.01, kDefaultReclaimRateMax = 0.5;
inline constexpr std::uint64_t kMinReclaimMaxBytes = 4096;
inline constexpr std::uint64_t kMaxReclaimMaxBytes = std::uint64_t{1} << 40;      // 1 TiB
inline constexpr std::uint64_t kDefaultReclaimMaxBytes = std::uint64_t{1} << 30;  // 1 GiB
inline constexpr std::uint64_t kMaxLimitMinBytes = std::uint64_t{1} << 50;
inline constexpr double kMinLimitMinRatio = 0.0, kMaxLimitMinRatio = 1.0;

struct PsiSettings {
    double pressure = kDefaultPressure;        // the goal: PSI some, percent
    double reclaimRate = kDefaultReclaimRate;  // the starting rate
    double reclaimRateMin = kDefaultReclaimRateMin;
    double reclaimRateMax = kDefaultReclaimRateMax;
    std::uint64_t reclaimMaxBytes = kDefaultReclaimMaxBytes;  // per round and cgroup
    std::uint64_t limitMinBytes = 0;                          // never reclaim the cgroup below this
    double limitMinRatio = 0;  // ... nor below this share of memory.max (or its peak use)

    bool operator==(const PsiSettings&) const = default;
};

}  // namespace etmem::psi
