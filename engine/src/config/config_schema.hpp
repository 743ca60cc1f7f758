// SPDX-License-Identifier: MulanPSL-2.0
// The keys each section of a config accepts; shared by the validator and the readers (the
// legacy reader places a key in its section by the key's name, since etmem 1.0's indentation
// is not reliable enough to do so). A task's keys are the few every task has plus the keys
// of the engines in the registry (etmem/engine_registry.hpp).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "etmem/engine_registry.hpp"

namespace etmem::config {

inline constexpr std::string_view kRootKeys[] = {"options"};
inline constexpr std::string_view kOptionKeys[] = {
    "loop", "interval", "sleep", "policies",
    // etmem 1.1's DAMON region-scan keys (optional)
    "sample_interval", "aggr_interval", "update_interval", "min_nr_regions", "max_nr_regions",
    // etmem 1.1's project gates (optional)
    "sysmem_threshold", "swapcache_high_wmark", "swapcache_low_wmark",
    // the project's mode (act | observe), for tasks that do not give their own
    "mode"};
// The keys every task has, whatever its engine, and the section an engine's Param keys go in.
inline constexpr std::string_view kTaskHeadKeys[] = {"type", "value", "max_threads", "engine"};
inline constexpr std::string_view kTaskNameKey = "name";
inline constexpr std::string_view kParamKey = "param";
// Keys a section may leave out, but for the engines' keys (their rows say). As in etmem 1.0,
// every other key is required; max_threads defaults to 1 and etmem 1.1's keys are optional
// (mode too: it is engine slide's optional key as well).
inline constexpr std::string_view kOptionalKeys[] = {
    "max_threads",    "sysmem_threshold", "swapcache_high_wmark", "swapcache_low_wmark",
    "name",           "sample_interval",  "aggr_interval",        "update_interval",
    "min_nr_regions", "max_nr_regions"};

// A task's keys in the YAML form, in order: the head, param, the engines' Leading keys, the
// task's name, the engines' Trailing keys.
std::vector<std::string_view> taskKeys();
// The same for one engine: the keys a task of that engine may give.
std::vector<std::string_view> taskKeysOf(const EngineRow& engine);
// The keys under param: of every engine.
std::vector<std::string_view> paramKeys();
std::vector<std::string_view> paramKeysOf(const EngineRow& engine);

// The section header a known key belongs under ("" for the top level), for telling a
// misplaced key (wrong indentation) from a misspelt one.
std::optional<std::string_view> homeSectionOf(std::string_view key);

// Whether a section must give the key. An engine's key (or param) is required here when
// every engine requires it: the engine's own requirements are checked once it is known.
bool isRequiredKey(std::string_view key);
// Whether that engine requires the key; isRequiredKey when the engine is not known (nullptr).
bool isRequiredBy(const EngineRow* engine, std::string_view key);

}  // namespace etmem::config
