// SPDX-License-Identifier: MulanPSL-2.0
#include "config/config_schema.hpp"

#include <algorithm>
#include <iterator>
#include <span>

namespace etmem::config {
namespace {

bool contains(std::span<const std::string_view> keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

void addOnce(std::vector<std::string_view>& keys, std::string_view key) {
    if (!contains(keys, key)) keys.push_back(key);
}

void addKeysPlaced(std::vector<std::string_view>& keys, const EngineRow& engine,
                   KeyPlacement placement) {
    for (const EngineKey& key : engine.keys)
        if (key.placement == placement) addOnce(keys, key.name);
}

bool hasParamKeys(const EngineRow& engine) {
    return std::any_of(engine.keys.begin(), engine.keys.end(),
                       [](const EngineKey& key) { return key.placement == KeyPlacement::Param; });
}

// Whether this engine requires the key (param: whether it requires one of its Param keys).
bool engineRequires(const EngineRow& engine, std::string_view name) {
    return std::any_of(engine.keys.begin(), engine.keys.end(), [&](const EngineKey& key) {
        return key.required &&
               (name == kParamKey ? key.placement == KeyPlacement::Param : key.name == name);
    });
}

std::vector<std::string_view> taskKeysFrom(std::span<const EngineRow> engines) {
    std::vector<std::string_view> keys(std::begin(kTaskHeadKeys), std::end(kTaskHeadKeys));
    if (std::any_of(engines.begin(), engines.end(), hasParamKeys)) keys.push_back(kParamKey);
    for (const EngineRow& engine : engines) addKeysPlaced(keys, engine, KeyPlacement::Leading);
    keys.push_back(kTaskNameKey);
    for (const EngineRow& engine : engines) addKeysPlaced(keys, engine, KeyPlacement::Trailing);
    return keys;
}

std::vector<std::string_view> paramKeysFrom(std::span<const EngineRow> engines) {
    std::vector<std::string_view> keys;
    for (const EngineRow& engine : engines) addKeysPlaced(keys, engine, KeyPlacement::Param);
    return keys;
}

}  // namespace

std::vector<std::string_view> taskKeys() {
    return taskKeysFrom(engineRows());
}

std::vector<std::string_view> taskKeysOf(const EngineRow& engine) {
    return taskKeysFrom({&engine, 1});
}

std::vector<std::string_view> paramKeys() {
    return paramKeysFrom(engineRows());
}

std::vector<std::string_view> paramKeysOf(const EngineRow& engine) {
    return paramKeysFrom({&engine, 1});
}

std::optional<std::string_view> homeSectionOf(std::string_view key) {
    if (contains(kRootKeys, key)) return "";
    if (contains(kOptionKeys, key)) return "options";
    if (contains(taskKeys(), key)) return "policies";
    if (contains(paramKeys(), key)) return "param";
    return std::nullopt;
}

bool isRequiredKey(std::string_view key) {
    const auto engines = engineRows();
    const bool engineKey =
        key == kParamKey || contains(paramKeys(), key) ||
        (contains(taskKeys(), key) && !contains(kTaskHeadKeys, key) && key != kTaskNameKey);
    if (!engineKey) return !contains(kOptionalKeys, key);
    return std::all_of(engines.begin(), engines.end(),
                       [&](const EngineRow& engine) { return engineRequires(engine, key); });
}

bool isRequiredBy(const EngineRow* engine, std::string_view key) {
    return engine != nullptr ? engineRequires(*engine, key) : isRequiredKey(key);
}

}  // namespace etmem::config
