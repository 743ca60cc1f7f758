// SPDX-License-Identifier: MulanPSL-2.0
// Engine cslide's keys, with etmem 1.1's meaning (its etmemd_cslide.c), read into the slide
// engine's tier settings (etmem/slide/slide_settings.hpp):
//
// - node_pair: "hot,cold;hot,cold": each pair's cold pages go from the hot node to the cold
//   node, its hot pages back; a node appears at most once. Required.
// - hot_threshold: a page whose access count is at least this is hot (slide's T; 0: every
//   page is hot), 0..3*loop+1.
// - node_mig_quota: MiB migrated per cycle and direction at most (0: nothing migrates, the
//   figures still say where the pages are).
// - node_hot_reserve: MiB kept free on a hot node: promotion stops there.
// - vm_flags, anon_only, ign_host: 1.1's selectors for its scan module (hugetlb VMAs of a VM);
//   etmem takes the task's private anonymous pages with its own scanners whatever they say,
//   and keeps them only so the normalized config writes them back.
//
// 1.1 writes the first four in [engine]; etmem reads them in [engine] (given to each of its
// tasks in the file) or in [task], and as task keys in the YAML form.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "config/config_text.hpp"
#include "config/key_value.hpp"
#include "engines/cslide/cslide.hpp"

namespace etmem::cslide {
namespace {

using config::KeyValue;
using config::NumberShape;
using config::parseWhole;

constexpr std::uint64_t kMaxMiB = 1 << 20;  // 1 TiB
constexpr std::string_view kYesNo[] = {"yes", "no"};

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

// "0,1;2,3" -> {(0,1), (2,3)}; rejects with the rule otherwise.
void readNodePair(const KeyValue& value, TaskConfig& task) {
    const std::string allowed = fmt::format(
        "hot,cold node pairs separated by ';' (such as 0,1 or 0,2;1,3), nodes 0..{}, each node "
        "at most once",
        slide::kMaxNodeNumber);
    const std::string_view text = value.text(allowed);
    std::vector<std::pair<int, int>> pairs;
    std::set<int> seen;
    std::string_view rest = text;
    while (true) {
        const std::size_t semicolon = rest.find(';');
        const std::string_view pair = trimmed(rest.substr(0, semicolon));
        const std::size_t comma = pair.find(',');
        std::uint64_t hot = 0, cold = 0;
        const bool shaped =
            comma != std::string_view::npos &&
            parseWhole(trimmed(pair.substr(0, comma)), hot) == NumberShape::Whole &&
            parseWhole(trimmed(pair.substr(comma + 1)), cold) == NumberShape::Whole &&
            hot <= static_cast<std::uint64_t>(slide::kMaxNodeNumber) &&
            cold <= static_cast<std::uint64_t>(slide::kMaxNodeNumber);
        if (!shaped) {
            value.reject(text, fmt::format("value '{}' is not a list of node pairs; allowed {}",
                                           config::displayText(text), allowed));
        }
        for (const std::uint64_t node : {hot, cold}) {
            if (!seen.insert(static_cast<int>(node)).second) {
                value.reject(text, fmt::format("value '{}' names node {} twice; allowed {}",
                                               config::displayText(text), node, allowed));
            }
        }
        pairs.emplace_back(static_cast<int>(hot), static_cast<int>(cold));
        if (semicolon == std::string_view::npos) break;
        rest = rest.substr(semicolon + 1);
        if (trimmed(rest).empty()) break;  // a trailing ';'
    }
    task.slide.nodePairs = std::move(pairs);
}

std::optional<std::string> writeNodePair(const TaskConfig& task) {
    std::string text;
    for (const auto& [hot, cold] : task.slide.nodePairs)
        text += fmt::format("{}{},{}", text.empty() ? "" : ";", hot, cold);
    return text;
}

std::optional<std::string> textUnlessEmpty(const std::string& text) {
    if (text.empty()) return std::nullopt;
    return text;
}

constexpr EngineKey kCslideKeys[] = {
    {"node_pair", KeyPlacement::Trailing, true, readNodePair, writeNodePair},
    {"hot_threshold", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         const std::uint64_t high = 3 * std::uint64_t{value.loop()} + 1;
         task.slide.T = static_cast<unsigned>(value.number(
             {0, high,
              fmt::format(" (3*loop+1 with loop {}; hot from this access count)", value.loop())}));
     },
     [](const TaskConfig& task) -> std::optional<std::string> {
         return std::to_string(task.slide.T);
     }},
    {"node_mig_quota", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.migrateQuotaMiB = static_cast<std::int64_t>(
             value.number({0, kMaxMiB, " (MiB migrated per cycle and direction; 0: none)"}));
     },
     [](const TaskConfig& task) -> std::optional<std::string> {
         if (task.slide.migrateQuotaMiB < 0) return std::nullopt;
         return std::to_string(task.slide.migrateQuotaMiB);
     }},
    {"node_hot_reserve", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.hotReserveBytes = value.number({0, kMaxMiB, " (MiB kept free on a hot node)"})
                                      << 20;
     },
     [](const TaskConfig& task) -> std::optional<std::string> {
         if (task.slide.hotReserveBytes == 0) return std::nullopt;
         return std::to_string(task.slide.hotReserveBytes >> 20);
     }},
    {"vm_flags", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.vmFlags = std::string(value.text("VMA flags as 1.1 names them, such as ht"));
     },
     [](const TaskConfig& task) { return textUnlessEmpty(task.slide.vmFlags); }},
    {"anon_only", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.anonOnly = std::string(value.choice(kYesNo));
     },
     [](const TaskConfig& task) { return textUnlessEmpty(task.slide.anonOnly); }},
    {"ign_host", KeyPlacement::Trailing, false,
     [](const KeyValue& value, TaskConfig& task) {
         task.slide.ignHost = std::string(value.choice(kYesNo));
     },
     [](const TaskConfig& task) { return textUnlessEmpty(task.slide.ignHost); }},
};

constexpr std::string_view kEngineSectionKeys[] = {"node_pair", "hot_threshold", "node_mig_quota",
                                                   "node_hot_reserve"};

}  // namespace

std::span<const EngineKey> cslideKeys() {
    return kCslideKeys;
}

std::span<const std::string_view> cslideEngineKeys() {
    return kEngineSectionKeys;
}

}  // namespace etmem::cslide
