// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi's task keys, etmem 1.1's names and defaults (etmem/psi/psi_settings.hpp): one
// row each, read, checked and written from here in every file form. They are plain keys of
// the task (a [task] line in 1.1's form), all optional.
//
// The rows' order is the order they are read in: reclaim_rate_min and reclaim_rate_max come
// before reclaim_rate, so each of the three is checked against the others as given (or as
// defaulted) when it is read.
#include <fmt/format.h>

#include <cmath>

#include "config/config_text.hpp"
#include "config/key_value.hpp"
#include "engines/psi/psi.hpp"

namespace etmem::psi {
namespace {

using config::KeyValue;
using config::NumberShape;
using config::parseWhole;

// A decimal number "12", "0.05" (at most 6 decimals) within low..high.
double readDecimal(const KeyValue& value, double low, double high, std::string_view what) {
    const std::string allowed = fmt::format("{}..{} ({})", low, high, what);
    const std::string_view text = value.text(allowed);
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    std::uint64_t wholeValue = 0, fractionValue = 0;
    const bool shaped = (whole.empty() || parseWhole(whole, wholeValue) == NumberShape::Whole) &&
                        (dot == std::string_view::npos ||
                         (!fraction.empty() && fraction.size() <= 6 &&
                          parseWhole(fraction, fractionValue) == NumberShape::Whole)) &&
                        !(whole.empty() && fraction.empty());
    if (!shaped) {
        value.reject(text, fmt::format("value '{}' is not a decimal number; allowed {}",
                                       config::displayText(text), allowed));
    }
    const double number =
        static_cast<double>(std::min<std::uint64_t>(wholeValue, 1'000'000'000)) +
        static_cast<double>(fractionValue) / std::pow(10.0, static_cast<double>(fraction.size()));
    if (number < low || number > high) {
        value.reject(text, fmt::format("value {} is out of range; allowed {}",
                                       config::displayText(text), allowed));
    }
    return number;
}

std::optional<std::string> decimalUnless(double value, double unset) {
    if (value == unset) return std::nullopt;
    return fmt::format("{}", value);
}

std::optional<std::string> numberUnless(std::uint64_t value, std::uint64_t unset) {
    if (value == unset) return std::nullopt;
    return std::to_string(value);
}

void readReclaimRateMin(const KeyValue& value, TaskConfig& task) {
    task.psi.reclaimRateMin =
        readDecimal(value, kMinReclaimRate, kMaxReclaimRate, "the least share reclaimed a round");
}

void readReclaimRateMax(const KeyValue& value, TaskConfig& task) {
    const double low = task.psi.reclaimRateMin;
    task.psi.reclaimRateMax = readDecimal(
        value, low, kMaxReclaimRate,
        fmt::format("the largest share reclaimed a round; at least reclaim_rate_min, {}", low));
}

void readReclaimRate(const KeyValue& value, TaskConfig& task) {
    task.psi.reclaimRate = readDecimal(
        value, task.psi.reclaimRateMin, task.psi.reclaimRateMax,
        fmt::format("the starting share reclaimed a round; within reclaim_rate_min {} and "
                    "reclaim_rate_max {}",
                    task.psi.reclaimRateMin, task.psi.reclaimRateMax));
}

constexpr EngineKey kPsiKeys[] = {
    // pressure: the goal, PSI some in percent of time (1.1 compares it with avg10); 0.1.
    {"pressure", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.psi.pressure = readDecimal(value, kMinPressure, kMaxPressure,
                                         "percent of time stalled on memory, PSI some");
     },
     [](const TaskConfig& task) { return decimalUnless(task.psi.pressure, kDefaultPressure); }},
    {"reclaim_rate_min", KeyPlacement::Trailing, false, readReclaimRateMin,
     [](const TaskConfig& task) {
         return decimalUnless(task.psi.reclaimRateMin, kDefaultReclaimRateMin);
     }},
    {"reclaim_rate_max", KeyPlacement::Trailing, false, readReclaimRateMax,
     [](const TaskConfig& task) {
         return decimalUnless(task.psi.reclaimRateMax, kDefaultReclaimRateMax);
     }},
    {"reclaim_rate", KeyPlacement::Trailing, false, readReclaimRate,
     [](const TaskConfig& task) {
         return decimalUnless(task.psi.reclaimRate, kDefaultReclaimRate);
     }},
    // reclaim_max_bytes: at most this much a round and cgroup; 1 GiB.
    {"reclaim_max_bytes", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.psi.reclaimMaxBytes = value.number(
             {kMinReclaimMaxBytes, kMaxReclaimMaxBytes, " (bytes a round and cgroup)"});
     },
     [](const TaskConfig& task) {
         return numberUnless(task.psi.reclaimMaxBytes, kDefaultReclaimMaxBytes);
     }},
    // limit_min_bytes: never reclaim the cgroup below this many bytes; 0.
    {"limit_min_bytes", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.psi.limitMinBytes = value.number({0, kMaxLimitMinBytes, " (bytes the cgroup keeps)"});
     },
     [](const TaskConfig& task) { return numberUnless(task.psi.limitMinBytes, 0); }},
    // limit_min_ratio: ... nor below this share of memory.max (or of its peak use); 0.
    {"limit_min_ratio", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.psi.limitMinRatio =
             readDecimal(value, kMinLimitMinRatio, kMaxLimitMinRatio,
                         "share of memory.max, or of the cgroup's peak use, it keeps");
     },
     [](const TaskConfig& task) { return decimalUnless(task.psi.limitMinRatio, 0); }},
};

}  // namespace

std::span<const EngineKey> psiKeys() {
    return kPsiKeys;
}

}  // namespace etmem::psi
