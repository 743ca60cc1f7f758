// SPDX-License-Identifier: MulanPSL-2.0
// Engine slide's task keys: one row each, read, checked and written from here in every file
// form (YAML, etmem 1.0's lines, etmem 1.1's [task]). A new slide key is a field of
// SlideSettings (etmem/slide/slide_settings.hpp), a row here and its paragraph in
// etmem.conf(5).
//
// Within a placement (etmem/engine_registry.hpp) the rows' order is the order the keys are
// read in, so the first fault of a task is the one reported, and written in by normalized
// YAML. etmem 1.1's list of [task] keys in messages follows the rows as a whole, hence
// scanner and swapper after 1.1's own keys.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "config/config_text.hpp"
#include "config/key_value.hpp"
#include "engines/slide/slide.hpp"
#include "etmem/backends/backends.hpp"

namespace etmem::slide {

using namespace etmem::backends;
namespace {

using config::KeyValue;
using config::NumberShape;
using config::parseWhole;

constexpr std::string_view kSwapFlagValues[] = {"yes", "no"};

std::optional<std::string> numberUnless(std::uint64_t value, std::uint64_t unset) {
    if (value == unset) return std::nullopt;
    return std::to_string(value);
}

// --- T: 1..3*loop, required

void readThreshold(const KeyValue& value, TaskConfig& task) {
    const unsigned loop = value.loop();
    task.slide.T = static_cast<unsigned>(
        value.number({1, 3 * std::uint64_t{loop}, fmt::format(" (3*loop with loop {})", loop)}));
}

// --- swap_threshold: a size as etmem 1.1 writes it ("10g"): a whole number and a unit k, m,
// g or t (powers of 1024), 1k..1024t; default unset.

// What is wrong with the size, or "" when it is one; bytes is set then.
std::string_view sizeFault(std::string_view text, std::uint64_t& bytes) {
    if (text.empty()) return "is empty";
    static constexpr std::string_view kUnits = "kmgt";
    const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
    const std::size_t power = kUnits.find(unit);
    if (power == std::string_view::npos) return "has no unit";
    std::uint64_t number = 0;
    if (parseWhole(text.substr(0, text.size() - 1), number) != NumberShape::Whole)
        return "is not a whole number and a unit";
    const unsigned shift = 10 * static_cast<unsigned>(power + 1);
    if (number == 0 || number > (kMaxSwapThresholdBytes >> shift)) return "is out of range";
    bytes = number << shift;
    return "";
}

void readSwapThreshold(const KeyValue& value, TaskConfig& task) {
    const std::string allowed =
        "a size of 1k..1024t written as a number and a unit k, m, g or t, such as 10g";
    const std::string_view text = value.text(allowed);
    if (const std::string_view fault = sizeFault(text, task.slide.swapThresholdBytes);
        !fault.empty()) {
        value.reject(text, fmt::format("value '{}' {}; allowed {}", config::displayText(text),
                                       fault, allowed));
    }
}

std::optional<std::string> writeSwapThreshold(const TaskConfig& task) {
    if (task.slide.swapThresholdBytes == 0) return std::nullopt;
    return swapThresholdText(task.slide.swapThresholdBytes);
}

// --- max_swap_rate: bytes per second, 4096..1T, with an optional K, M or G suffix (powers of
// 1024); default unlimited.

// A size in bytes, minimum..1T, with an optional K, M or G suffix; `allowed` says so.
std::uint64_t readBinarySize(const KeyValue& value, std::uint64_t minimum,
                             const std::string& allowed) {
    const std::string_view text = value.text(allowed);
    std::uint64_t unit = 1;
    std::string_view digits = text;
    if (!digits.empty()) {
        const char last =
            static_cast<char>(std::toupper(static_cast<unsigned char>(digits.back())));
        const std::uint64_t units[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};
        if (const auto* at = std::strchr("KMG", last); at != nullptr && last != '\0') {
            unit = units[at - "KMG"];
            digits.remove_suffix(1);
        }
    }
    std::uint64_t size = 0;
    if (parseWhole(digits, size) != NumberShape::Whole) {
        value.reject(text, fmt::format("value '{}' is not a size; allowed {}",
                                       config::displayText(text), allowed));
    }
    const bool overflow = size > kMaxSwapRate / unit;
    size = overflow ? kMaxSwapRate + 1 : size * unit;
    if (size < minimum || size > kMaxSwapRate) {
        value.reject(text, fmt::format("value {} is out of range; allowed {}",
                                       config::displayText(text), allowed));
    }
    return size;
}

std::string rateAllowed() {
    return fmt::format("bytes per second, {}..{} (1T), with an optional K, M or G suffix (e.g. 8M)",
                       kMinSwapRate, kMaxSwapRate);
}

void readSwapRate(const KeyValue& value, TaskConfig& task) {
    task.slide.maxSwapRate = readBinarySize(value, kMinSwapRate, rateAllowed());
}

// --- pressure_limit: a percentage with at most one decimal, as PSI reports it (10, 2.5),
// 0.1..100; default off.

void readPressureLimit(const KeyValue& value, TaskConfig& task) {
    const std::string allowed =
        "0.1..100 (percent of time stalled on memory, PSI some avg10; at most one decimal)";
    const std::string_view text = value.text(allowed);
    const std::size_t dot = text.find('.');
    std::uint64_t whole = 0, tenth = 0;
    const bool shaped =
        parseWhole(text.substr(0, dot), whole) == NumberShape::Whole &&
        (dot == std::string_view::npos ||
         (text.size() == dot + 2 && parseWhole(text.substr(dot + 1), tenth) == NumberShape::Whole));
    if (!shaped) {
        value.reject(text, fmt::format("value '{}' is not a percentage; allowed {}",
                                       config::displayText(text), allowed));
    }
    const std::uint64_t tenths = std::min<std::uint64_t>(whole, 100000) * 10 + tenth;
    if (tenths < 1 || tenths > 1000) {
        value.reject(text, fmt::format("value {} is out of range; allowed {}",
                                       config::displayText(text), allowed));
    }
    task.slide.pressureLimit = static_cast<double>(tenths) / 10.0;
}

// --- Memory tiers. cold_destination: swap | node N (0..1023); default swap. Whether node N
// exists, has memory and is slower is checked against the machine when the project starts
// (checkHostLimits), not here: a saved project may come back on another machine.

void readColdDestination(const KeyValue& value, TaskConfig& task) {
    const std::string allowed = fmt::format(
        "swap, or node N (N = 0..{}, a NUMA node slower than the fastest, such as node 1)",
        kMaxNodeNumber);
    const std::string_view text = value.text(allowed);
    if (text == "swap") {
        task.slide.coldNode = -1;
        return;
    }
    constexpr std::string_view kNode = "node";
    std::string_view number =
        text.substr(0, kNode.size()) == kNode ? text.substr(kNode.size()) : std::string_view{};
    while (!number.empty() && number.front() == ' ') number.remove_prefix(1);
    std::uint64_t node = 0;
    if (number.empty() || parseWhole(number, node) != NumberShape::Whole ||
        node > static_cast<std::uint64_t>(kMaxNodeNumber)) {
        value.reject(text, fmt::format("value '{}' is not a destination; allowed {}",
                                       config::displayText(text), allowed));
    }
    task.slide.coldNode = static_cast<int>(node);
}

// The tier keys mean something only when cold pages go to a node: given without one, the
// operator expects something that would not happen.
void needColdNode(const KeyValue& value, const TaskConfig& task) {
    if (task.slide.coldNode >= 0) return;
    value.reject(
        value.text(""),
        fmt::format("{} needs cold_destination: node N (cold pages go "
                    "to swap in this task, so there is nothing to {})",
                    value.key(), value.key() == "node_hot_reserve" ? "promote" : "migrate"));
}

// node_hot_reserve: N% of the fast node (1..50) or a size (4096..1T, K/M/G); default none.
void readHotReserve(const KeyValue& value, TaskConfig& task) {
    needColdNode(value, task);
    const std::string allowed = fmt::format(
        "a percentage of the fast node's memory, {}..{}% (such as 10%), or a size of "
        "4096..1T bytes with an optional K, M or G suffix (such as 512M)",
        kMinHotReservePercent, kMaxHotReservePercent);
    const std::string_view text = value.text(allowed);
    if (!text.empty() && text.back() == '%') {
        std::uint64_t percent = 0;
        if (parseWhole(text.substr(0, text.size() - 1), percent) != NumberShape::Whole ||
            percent < kMinHotReservePercent || percent > kMaxHotReservePercent) {
            value.reject(text, fmt::format("value {} is out of range; allowed {}",
                                           config::displayText(text), allowed));
        }
        task.slide.hotReservePercent = static_cast<unsigned>(percent);
        return;
    }
    task.slide.hotReserveBytes = readBinarySize(value, kMinSwapRate, allowed);
}

std::optional<std::string> writeHotReserve(const TaskConfig& task) {
    if (task.slide.hotReservePercent != 0) return fmt::format("{}%", task.slide.hotReservePercent);
    return numberUnless(task.slide.hotReserveBytes, 0);
}

constexpr EngineKey kSlideKeys[] = {
    {"T", KeyPlacement::Param, true, readThreshold,
     [](const TaskConfig& task) -> std::optional<std::string> {
         return std::to_string(task.slide.T);
     }},
    {"swap_threshold", KeyPlacement::Trailing, false, readSwapThreshold, writeSwapThreshold},
    // dram_percent: 1..100 (% of the target's memory kept in DRAM); default unset.
    {"dram_percent", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.dramPercent = static_cast<unsigned>(
             value.number({kMinDramPercent, kMaxDramPercent, " (% of the target's memory)"}));
     },
     [](const TaskConfig& task) { return numberUnless(task.slide.dramPercent, 0); }},
    // swap_flag: yes | no (only the mappings the application marked); default no, always
    // written.
    {"swap_flag", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.swapFlag = value.choice(kSwapFlagValues) == "yes";
     },
     [](const TaskConfig& task) -> std::optional<std::string> {
         return task.slide.swapFlag ? "yes" : "no";
     }},
    // scanner, swapper: auto (probe) or a backend of backends/backends.hpp; default auto, always
    // written.
    {"scanner", KeyPlacement::Leading, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.scanner = value.choice(kScannerNames);
     },
     [](const TaskConfig& task) -> std::optional<std::string> { return task.slide.scanner; }},
    {"swapper", KeyPlacement::Leading, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.swapper = value.choice(kSwapperNames);
     },
     [](const TaskConfig& task) -> std::optional<std::string> { return task.slide.swapper; }},
    {"max_swap_rate", KeyPlacement::Trailing, false, readSwapRate,
     [](const TaskConfig& task) { return numberUnless(task.slide.maxSwapRate, 0); }},
    {"pressure_limit", KeyPlacement::Trailing, false, readPressureLimit,
     [](const TaskConfig& task) -> std::optional<std::string> {
         if (task.slide.pressureLimit == 0) return std::nullopt;
         return fmt::format("{}", task.slide.pressureLimit);
     }},
    // cold_cycles: 1..16, default 1 (swap what is cold in this cycle).
    {"cold_cycles", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.coldCycles = static_cast<unsigned>(
             value.number({kMinColdCycles, kMaxColdCycles,
                           " (consecutive cold cycles before a page is swapped)"}));
     },
     [](const TaskConfig& task) { return numberUnless(task.slide.coldCycles, 1); }},
    // Memory tiers (etmem.conf(5), "Memory tiers"): cold_destination first, since the others
    // need it.
    {"cold_destination", KeyPlacement::Trailing, false, readColdDestination,
     [](const TaskConfig& task) -> std::optional<std::string> {
         if (task.slide.coldNode < 0) return std::nullopt;
         return coldDestinationText(task.slide.coldNode);
     }},
    // then_swap_after: 1..64 further cold cycles on the slow node before swap; default none.
    {"then_swap_after", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         needColdNode(value, task);
         task.slide.thenSwapAfter = static_cast<unsigned>(
             value.number({kMinThenSwapAfter, kMaxThenSwapAfter,
                           " (further cold cycles on the slow node before a page goes to swap)"}));
     },
     [](const TaskConfig& task) { return numberUnless(task.slide.thenSwapAfter, 0); }},
    {"node_hot_reserve", KeyPlacement::Trailing, false, readHotReserve, writeHotReserve},
    // max_migrate_rate: bytes/s per direction, as max_swap_rate; default unlimited.
    {"max_migrate_rate", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         needColdNode(value, task);
         task.slide.maxMigrateRate = readBinarySize(value, kMinSwapRate, rateAllowed());
     },
     [](const TaskConfig& task) { return numberUnless(task.slide.maxMigrateRate, 0); }},
};

}  // namespace

std::span<const EngineKey> slideKeys() {
    return kSlideKeys;
}

std::string coldDestinationText(int coldNode) {
    return coldNode < 0 ? "swap" : fmt::format("node {}", coldNode);
}

// The largest unit that writes the size exactly; sizes are whole kilobytes by construction.
std::string swapThresholdText(std::uint64_t bytes) {
    static constexpr char kUnits[] = {'t', 'g', 'm', 'k'};
    for (unsigned i = 0; i < 4; ++i) {
        const unsigned shift = 10 * (4 - i);
        if (bytes % (std::uint64_t{1} << shift) == 0)
            return fmt::format("{}{}", bytes >> shift, kUnits[i]);
    }
    return fmt::format("{}k", bytes >> 10);
}

}  // namespace etmem::slide
