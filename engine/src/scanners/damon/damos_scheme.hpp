// SPDX-License-Identifier: MulanPSL-2.0
// A DAMOS scheme through DAMON's sysfs: a kdamond with one vaddr context, a target per
// process and one scheme that acts in the kernel on the regions matching an access pattern
// (etmem 1.1's damon engine), paced by a quota and gated by watermarks; and the scheme's
// stats, which the kernel refreshes on "update_schemes_stats".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stop_token>
#include <string>

#include "etmem/scanners/damon.hpp"

namespace etmem::scanners::damon {

// The regions a scheme acts on, as DAMON counts them: sizes in bytes, accesses in samples
// per aggregation interval, ages in aggregation intervals. Bounds are inclusive.
struct DamosPattern {
    std::uint64_t minSize = 0;
    std::uint64_t maxSize = ~std::uint64_t{0};
    std::uint32_t minAccesses = 0;
    std::uint32_t maxAccesses = ~std::uint32_t{0};
    std::uint32_t minAge = 0;
    std::uint32_t maxAge = ~std::uint32_t{0};
    bool operator==(const DamosPattern&) const = default;
};

// At most `bytes` tried per `resetIntervalMs` (0 bytes: no quota). Over quota, DAMON picks
// the regions its weights rank first (for pageout: the least accessed, oldest).
struct DamosQuota {
    std::uint64_t bytes = 0;
    std::uint64_t resetIntervalMs = 1000;
    bool operator==(const DamosQuota&) const = default;
};

// The scheme runs only while `metric` (per thousand; "free_mem_rate": free memory) is at
// most `high` and at least `low`, and starts again once it is at most `mid`. metric "none":
// always runs.
struct DamosWatermarks {
    std::string metric = "none";
    std::uint64_t intervalUs = 1'000'000;
    std::uint64_t high = 0;
    std::uint64_t mid = 0;
    std::uint64_t low = 0;
    bool operator==(const DamosWatermarks&) const = default;
};

struct DamosScheme {
    std::string action = "stat";  // a DAMOS action the vaddr operations support
    DamosPattern pattern;
    DamosQuota quota;
    DamosWatermarks watermarks;
    bool operator==(const DamosScheme&) const = default;
};

// The actions DAMON's vaddr operations apply (the others are for physical addresses).
inline constexpr std::string_view kVaddrDamosActions[] = {"willneed", "cold",       "pageout",
                                                          "hugepage", "nohugepage", "stat"};

// A scheme's counters since its kdamond started: regions and bytes it tried (matched the
// pattern), applied the action to, and how often the quota cut it short.
struct DamosStats {
    std::uint64_t nrTried = 0;
    std::uint64_t szTried = 0;
    std::uint64_t nrApplied = 0;
    std::uint64_t szApplied = 0;
    std::uint64_t qtExceeds = 0;
    bool operator==(const DamosStats&) const = default;
    // What happened between `earlier` and these (counters restart with the kdamond: then
    // these whole).
    DamosStats since(const DamosStats& earlier) const;
};

// Writes the kdamond's context (it must be off): vaddr monitoring of `pids` with `attrs`,
// DAMON choosing the initial regions, and `scheme` as its only scheme. Throws
// std::system_error.
void writeDamosSession(const std::filesystem::path& kdamond, const DamonAttrs& attrs,
                       std::span<const pid_t> pids, const DamosScheme& scheme,
                       std::stop_token stop);

// Writes one scheme's directory (<kdamond>/contexts/0/schemes/<i>).
void writeDamosScheme(const std::filesystem::path& scheme, const DamosScheme& given,
                      std::stop_token stop);

// A running kdamond takes what its directory now says ("commit"): a new quota or action
// applies without losing what DAMON learned of the regions.
void commitDamos(const std::filesystem::path& kdamond, std::stop_token stop);

// Asks the kernel to refresh the stats files ("update_schemes_stats"), then reads scheme 0's.
// Throws std::system_error.
DamosStats readDamosStats(const std::filesystem::path& kdamond, std::stop_token stop);

}  // namespace etmem::scanners::damon
