// SPDX-License-Identifier: MulanPSL-2.0
// toYaml: the one normalized text of a config. Every key is written, in a fixed order, and
// policies is always a list, so two files meaning the same project give the same text.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>

#include "etmem/config.hpp"
#include "etmem/engine_registry.hpp"

namespace etmem {
namespace {

// Words YAML would read as null or a boolean, so they must be quoted to stay strings.
bool isYamlKeyword(std::string_view word) {
    static constexpr std::string_view kKeywords[] = {"null", "true", "false", "yes", "no",
                                                     "on",   "off",  "y",     "n",   "~"};
    return std::any_of(std::begin(kKeywords), std::end(kKeywords), [&](std::string_view keyword) {
        return std::equal(
            word.begin(), word.end(), keyword.begin(), keyword.end(),
            [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    });
}

bool isPlainWord(std::string_view text) {
    const auto isWordChar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    };
    return !text.empty() && std::isalpha(static_cast<unsigned char>(text[0])) &&
           std::all_of(text.begin(), text.end(), isWordChar) && !isYamlKeyword(text);
}

// A plain word as is; anything else double-quoted with YAML escapes.
std::string yamlString(std::string_view text) {
    if (isPlainWord(text)) return std::string(text);
    std::string quoted = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            quoted += fmt::format("\\x{:02X}", byte);
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

// A pid is written as the number it is; anything else as a YAML string.
std::string valueYaml(const TaskConfig& task) {
    const bool isNumber =
        !task.value.empty() && std::all_of(task.value.begin(), task.value.end(),
                                           [](char c) { return c >= '0' && c <= '9'; });
    return task.type == TaskType::Pid && isNumber ? task.value : yamlString(task.value);
}

std::string projectGatesYaml(const ProjectConfig& config) {
    std::string yaml;
    if (config.sysmemThreshold)
        yaml += fmt::format("  sysmem_threshold: {}\n", *config.sysmemThreshold);
    if (config.swapcacheHighWmark && config.swapcacheLowWmark) {
        yaml += fmt::format("  swapcache_high_wmark: {}\n  swapcache_low_wmark: {}\n",
                            *config.swapcacheHighWmark, *config.swapcacheLowWmark);
    }
    return yaml;
}

// The engine's keys of one placement that differ from their defaults (or are always written).
std::string engineKeysYaml(const TaskConfig& task, const EngineRow* engine, KeyPlacement placement,
                           std::string_view indent) {
    std::string yaml;
    if (engine == nullptr) return yaml;
    for (const EngineKey& key : engine->keys) {
        if (key.placement != placement) continue;
        if (const auto value = key.write(task))
            yaml += fmt::format("{}{}: {}\n", indent, key.name, *value);
    }
    return yaml;
}

std::string taskYaml(const TaskConfig& task) {
    std::string yaml = fmt::format(
        "    - type: {}\n"
        "      value: {}\n"
        "      max_threads: {}\n"
        "      engine: {}\n",
        toString(task.type), valueYaml(task), task.maxThreads, yamlString(task.engine));
    const EngineRow* engine = findEngine(task.engine);
    const std::string param = engineKeysYaml(task, engine, KeyPlacement::Param, "        ");
    if (!param.empty()) yaml += "      param:\n" + param;
    yaml += engineKeysYaml(task, engine, KeyPlacement::Leading, "      ");
    if (!task.name.empty()) yaml += fmt::format("      name: {}\n", yamlString(task.name));
    return yaml + engineKeysYaml(task, engine, KeyPlacement::Trailing, "      ");
}

// The region keys given (0 is "derived" and is left out, so parsing gives it back).
std::string regionYaml(const RegionScanConfig& region) {
    std::string yaml;
    for (const RegionKey& key : kRegionKeys)
        if (region.*key.field != 0) yaml += fmt::format("  {}: {}\n", key.name, region.*key.field);
    return yaml;
}

}  // namespace

std::string toYaml(const ProjectConfig& config) {
    std::string yaml = fmt::format(
        "options:\n"
        "  loop: {}\n"
        "  interval: {}\n"
        "  sleep: {}\n"
        "{}",
        config.loop, config.interval, config.sleep, regionYaml(config.region));
    yaml += projectGatesYaml(config);
    if (config.mode) yaml += fmt::format("  mode: {}\n", slide::toString(*config.mode));
    // A project without tasks yet (etmem 1.1 adds them later) has an empty list.
    yaml += config.tasks.empty() ? "  policies: []\n" : "  policies:\n";
    for (const TaskConfig& task : config.tasks) yaml += taskYaml(task);
    return yaml;
}

}  // namespace etmem
