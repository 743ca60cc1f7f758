// SPDX-License-Identifier: MulanPSL-2.0
// The damon engine's own task keys, as a task config holds them (TaskConfig::damon): etmem
// 1.1's damon engine, a DAMOS scheme on the task's processes. Each field is one row of
// engine/src/engines/damon/damon_keys.cpp. Its pacing keys (max_swap_rate, pressure_limit)
// are slide's rows and fields (TaskConfig::slide), read and written by the same code.
#pragma once

#include <cstdint>
#include <string>

namespace etmem::damon {

// Units as DAMON counts them: sizes in bytes, accesses in samples per aggregation interval
// (aggr_interval / sample_interval at most), ages in aggregation intervals.
inline constexpr std::uint64_t kUnlimitedSize = ~std::uint64_t{0};
inline constexpr std::uint64_t kMaxCount = 0xFFFF'FFFF;  // accesses and ages (unsigned int)

struct DamonSettings {
    std::uint64_t minSize = 0;               // min_size
    std::uint64_t maxSize = kUnlimitedSize;  // max_size; default: any size
    std::uint64_t minAccesses = 0;           // min_acc
    std::uint64_t maxAccesses = 0;           // max_acc; default 0: regions not accessed
    std::uint64_t minAge = 0;                // min_age
    std::uint64_t maxAge = kMaxCount;        // max_age; default: any age
    std::string action = "pageout";          // action

    bool operator==(const DamonSettings&) const = default;
};

}  // namespace etmem::damon
