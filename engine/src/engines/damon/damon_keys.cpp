// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon's task keys: etmem 1.1's [engine] name=damon keys (min_size, max_size,
// min_acc, max_acc, min_age, max_age, action), one row each, then slide's pacing rows.
//
// Each max is read before its min, so a min is checked against the max the task ends up
// with, given or default ("min_acc 3 with max_acc not given" is refused at min_acc, not
// scheduled as a scheme that matches nothing). Normalized YAML writes them in that order.
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "config/key_value.hpp"
#include "engines/damon/damon.hpp"
#include "engines/slide/slide.hpp"
#include "scanners/damon/damos_scheme.hpp"

namespace etmem::damon {
namespace {

using config::KeyValue;

std::optional<std::string> numberUnless(std::uint64_t value, std::uint64_t unset) {
    if (value == unset) return std::nullopt;
    return std::to_string(value);
}

// A max key: 0..limit (unit); a min key: 0..its max, saying where that max comes from.
std::uint64_t readMax(const KeyValue& value, std::uint64_t limit, std::string_view unit) {
    return value.number({0, limit, fmt::format(" ({})", unit)});
}

std::uint64_t readMin(const KeyValue& value, std::uint64_t max, std::uint64_t maxDefault,
                      std::string_view maxKey, std::string_view unit) {
    const std::string why =
        max == maxDefault && maxDefault != kUnlimitedSize && maxDefault != kMaxCount
            ? fmt::format(" ({}; at most {}, {} when {} is not given)", unit, maxKey, maxDefault,
                          maxKey)
            : fmt::format(" ({}; at most {})", unit, maxKey);
    return value.number({0, max, why});
}

constexpr std::string_view kSize = "bytes";
constexpr std::string_view kAccesses = "samples per aggregation interval";
constexpr std::string_view kAge = "aggregation intervals";

const DamonSettings kDefaults{};

constexpr EngineKey kSchemeKeys[] = {
    {"max_size", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.maxSize = readMax(value, kUnlimitedSize, kSize);
     },
     [](const TaskConfig& task) { return numberUnless(task.damon.maxSize, kDefaults.maxSize); }},
    {"min_size", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.minSize =
             readMin(value, task.damon.maxSize, kDefaults.maxSize, "max_size", kSize);
     },
     [](const TaskConfig& task) { return numberUnless(task.damon.minSize, kDefaults.minSize); }},
    {"max_acc", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.maxAccesses = readMax(value, kMaxCount, kAccesses);
     },
     [](const TaskConfig& task) -> std::optional<std::string> {
         return std::to_string(
             task.damon.maxAccesses);  // always: its default is 1.1's, not DAMON's
     }},
    {"min_acc", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.minAccesses =
             readMin(value, task.damon.maxAccesses, kDefaults.maxAccesses, "max_acc", kAccesses);
     },
     [](const TaskConfig& task) {
         return numberUnless(task.damon.minAccesses, kDefaults.minAccesses);
     }},
    {"max_age", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.maxAge = readMax(value, kMaxCount, kAge);
     },
     [](const TaskConfig& task) { return numberUnless(task.damon.maxAge, kDefaults.maxAge); }},
    {"min_age", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.minAge = readMin(value, task.damon.maxAge, kDefaults.maxAge, "max_age", kAge);
     },
     [](const TaskConfig& task) { return numberUnless(task.damon.minAge, kDefaults.minAge); }},
    // action: a DAMOS action of DAMON's vaddr operations; default pageout, always written.
    {"action", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.damon.action = value.choice(scanners::damon::kVaddrDamosActions);
     },
     [](const TaskConfig& task) -> std::optional<std::string> { return task.damon.action; }},
};

// The pacing keys this engine shares with slide, taken from slide's rows.
constexpr std::string_view kSharedSlideKeys[] = {"max_swap_rate", "pressure_limit"};

// etmem 1.1 gives the scheme in [engine] (and etmem the pacing keys there too): every [task]
// of the engine in the file that does not give a key itself takes the section's.
constexpr std::string_view kEngineSectionKeys[] = {"max_size", "min_size",      "max_acc",
                                                   "min_acc",  "max_age",       "min_age",
                                                   "action",   "max_swap_rate", "pressure_limit"};

}  // namespace

std::span<const EngineKey> damonKeys() {
    static const std::vector<EngineKey> keys = [] {
        std::vector<EngineKey> all(std::begin(kSchemeKeys), std::end(kSchemeKeys));
        for (const EngineKey& key : slide::slideKeys()) {
            if (std::find(std::begin(kSharedSlideKeys), std::end(kSharedSlideKeys), key.name) !=
                std::end(kSharedSlideKeys))
                all.push_back(key);
        }
        return all;
    }();
    return keys;
}

std::span<const std::string_view> damonEngineKeys() {
    return kEngineSectionKeys;
}

}  // namespace etmem::damon
