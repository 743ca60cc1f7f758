// SPDX-License-Identifier: MulanPSL-2.0
#include "config/validator.hpp"

#include <fmt/format.h>

#include <sys/types.h>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "config/config_schema.hpp"
#include "config/config_text.hpp"
#include "config/key_value.hpp"
#include "config/suggest.hpp"
#include "etmem/kernel/memory_tiers.hpp"

namespace etmem::config {
namespace {

using Kind = ConfigNode::Kind;
using Keys = std::span<const std::string_view>;

constexpr std::uint64_t kMaxPid = std::numeric_limits<pid_t>::max();

std::string joinPath(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

const MapEntry* findEntry(const ConfigNode& map, std::string_view key) {
    const auto found = std::find_if(map.entries.begin(), map.entries.end(),
                                    [&](const MapEntry& entry) { return entry.key == key; });
    return found == map.entries.end() ? nullptr : &*found;
}

void requireMapping(const ConfigNode& node, const std::string& path, Keys keys) {
    // A header with nothing under it ("param:") is an empty section: its missing keys are
    // named by requireKeys, as they are for the line form.
    if (node.kind == Kind::Map || node.kind == Kind::Null) return;
    fail(
        node.at, path, node.scalar,
        fmt::format("expected a section with the keys {}; got {}", listKeys(keys), describe(node)));
}

// A key of another section is most likely indented wrongly; anything else is a typo.
std::string misplacedKeyMessage(std::string_view key, Keys keys) {
    const std::optional<std::string_view> home = homeSectionOf(key);
    if (!home) return unknownKeyMessage(key, keys);
    const std::string where =
        home->empty() ? "at the top level" : fmt::format("inside '{}:'", *home);
    return fmt::format("key '{}' does not belong here; it goes {} (check its indentation)", key,
                       where);
}

void rejectUnknownAndRepeatedKeys(const ConfigNode& map, const std::string& path, Keys keys) {
    for (auto entry = map.entries.begin(); entry != map.entries.end(); ++entry) {
        const std::string entryPath = joinPath(path, entry->key);
        if (std::find(keys.begin(), keys.end(), entry->key) == keys.end()) {
            fail(entry->keyAt, entryPath, entry->value.scalar,
                 misplacedKeyMessage(entry->key, keys));
        }
        // Every key here is one of a handful of known keys, so this search stays short.
        const MapEntry* first = findEntry(map, entry->key);
        if (first != &*entry) {
            fail(entry->keyAt, entryPath, entry->value.scalar,
                 fmt::format("key '{}' is given twice (first at line {}); give it once", entry->key,
                             first->keyAt.line));
        }
    }
}

void requireKeys(const ConfigNode& map, Position owner, const std::string& path, Keys keys) {
    for (std::string_view key : keys) {
        if (isRequiredKey(key) && findEntry(map, key) == nullptr) {
            fail(
                owner, joinPath(path, key), "",
                fmt::format("required key '{}' is missing from the section that starts here", key));
        }
    }
}

// A mapping that holds only allowed keys, each once, and every required one.
// owner is where the section starts: missing keys are reported there.
const ConfigNode& section(const ConfigNode& node, Position owner, const std::string& path,
                          Keys keys) {
    requireMapping(node, path, keys);
    rejectUnknownAndRepeatedKeys(node, path, keys);
    requireKeys(node, owner, path, keys);
    return node;
}

unsigned readUnsigned(const ConfigNode& map, std::string_view key, const std::string& path,
                      const Range& range) {
    return static_cast<unsigned>(readNumber(*findEntry(map, key), joinPath(path, key), range));
}

TaskType readType(const MapEntry& entry, const std::string& path) {
    const std::string_view text = readScalar(entry, path, "pid | name | unit | cgroup");
    if (text == "pid") return TaskType::Pid;
    if (text == "name") return TaskType::Name;
    if (text == "unit") return TaskType::Unit;
    if (text == "cgroup") return TaskType::Cgroup;
    fail(entry.value.at, path, text,
         fmt::format("value '{}' is not a task type; allowed pid | name | unit | cgroup",
                     displayText(text)));
}

std::string readProcessName(const MapEntry& entry, const std::string& path) {
    const std::string allowed = fmt::format(
        "a process name of 1..{} bytes without control characters", kMaxProcessNameLength);
    const std::string_view name = readScalar(entry, path, allowed);
    const bool hasControl = std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (name.empty() || name.size() > kMaxProcessNameLength || hasControl) {
        const std::string what = hasControl ? "contains a control character"
                                            : fmt::format("is {} bytes long", name.size());
        fail(entry.value.at, path, name,
             fmt::format("value '{}' {}; allowed {}", displayText(name), what, allowed));
    }
    return std::string(name);
}

// systemd's rule (unit_name_is_valid): a prefix of [A-Za-z0-9:_.\-] (with one '@' and an
// instance for a template), then the suffix; etmem targets units that hold processes.
std::string readUnitName(const MapEntry& entry, const std::string& path) {
    const std::string allowed = fmt::format(
        "a unit name ending in .service, .scope or .slice, of at most {} bytes of "
        "[A-Za-z0-9:_.\\-@]",
        kMaxUnitNameLength);
    const std::string_view name = readScalar(entry, path, allowed);
    const auto validChar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '.' ||
               c == '-' || c == '\\' || c == '@';
    };
    std::string_view prefix;
    for (std::string_view suffix : {".service", ".scope", ".slice"})
        if (name.size() > suffix.size() && name.ends_with(suffix))
            prefix = name.substr(0, name.size() - suffix.size());
    const std::size_t at = prefix.find('@');
    const bool validTemplate =
        at == std::string_view::npos ||
        (at > 0 && at + 1 < prefix.size() && prefix.find('@', at + 1) == std::string_view::npos);
    if (prefix.empty() || name.size() > kMaxUnitNameLength ||
        !std::all_of(name.begin(), name.end(), validChar) || !validTemplate) {
        fail(entry.value.at, path, name,
             fmt::format("value '{}' is not a valid unit name; allowed {}", displayText(name),
                         allowed));
    }
    return std::string(name);
}

// Relative to the cgroup2 mount, so a config cannot name a file outside the hierarchy.
std::string readCgroupPath(const MapEntry& entry, const std::string& path) {
    const std::string allowed =
        "a cgroup v2 path relative to the cgroup2 mount (e.g. system.slice/foo.service), "
        "without '..', '.', empty components or control characters";
    const std::string_view text = readScalar(entry, path, allowed);
    bool valid = !text.empty() && text.front() != '/' && text.size() <= 4096;
    for (std::size_t begin = 0; valid && begin <= text.size();) {
        std::size_t end = std::min(text.find('/', begin), text.size());
        const std::string_view component = text.substr(begin, end - begin);
        valid = !component.empty() && component != "." && component != "..";
        begin = end + 1;
    }
    valid = valid && std::none_of(text.begin(), text.end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
            });
    if (!valid) {
        fail(
            entry.value.at, path, text,
            fmt::format("value '{}' is not a cgroup path; allowed {}", displayText(text), allowed));
    }
    return std::string(text);
}

std::string readTaskValue(const MapEntry& entry, const std::string& path, TaskType type) {
    if (type == TaskType::Name) return readProcessName(entry, path);
    if (type == TaskType::Unit) return readUnitName(entry, path);
    if (type == TaskType::Cgroup) return readCgroupPath(entry, path);
    // Normalized to plain decimal so "0042" and "42" are the same task.
    return std::to_string(readNumber(entry, path, {1, kMaxPid, " (a process id)"}));
}

unsigned readMaxThreads(const ConfigNode& task, const std::string& path, unsigned cores) {
    const MapEntry* entry = findEntry(task, "max_threads");
    if (entry == nullptr) return 1;
    if (cores == 0) {  // host not checked here: checkHostLimits at launch
        const Range any{1, std::numeric_limits<unsigned>::max(), ""};
        return static_cast<unsigned>(readNumber(*entry, joinPath(path, "max_threads"), any));
    }
    const std::uint64_t high = 2 * std::uint64_t{cores} + 1;
    const Range range{1, high, fmt::format(" (2*cores+1 with {} cores)", cores)};
    return static_cast<unsigned>(readNumber(*entry, joinPath(path, "max_threads"), range));
}

// --- etmem 1.1's keys (sysmem_threshold, swapcache marks, task name): all optional, ranges
// as etmemd_project.c has them.

std::optional<unsigned> readOptionalNumber(const ConfigNode& map, std::string_view key,
                                           const std::string& path, const Range& range) {
    const MapEntry* entry = findEntry(map, key);
    if (entry == nullptr) return std::nullopt;
    return static_cast<unsigned>(readNumber(*entry, joinPath(path, key), range));
}

std::string readObjectName(const MapEntry& entry, const std::string& path) {
    const std::string allowed =
        fmt::format("a name of 1..{} bytes without control characters", kMaxObjectNameLength);
    const std::string_view name = readScalar(entry, path, allowed);
    const bool hasControl = std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (name.empty() || name.size() > kMaxObjectNameLength || hasControl) {
        fail(entry.value.at, path, name,
             fmt::format("value '{}' is not a valid name; allowed {}", displayText(name), allowed));
    }
    return std::string(name);
}

void readProjectGates(const ConfigNode& options, const std::string& path, ProjectConfig& config) {
    config.sysmemThreshold = readOptionalNumber(
        options, "sysmem_threshold", path,
        {kMinSysmemThreshold, kMaxSysmemThreshold, " (% of RAM free, from MemFree)"});
    const Range wmark{kMinSwapcacheWmark, kMaxSwapcacheWmark, " (% of RAM)"};
    config.swapcacheHighWmark = readOptionalNumber(options, "swapcache_high_wmark", path, wmark);
    config.swapcacheLowWmark = readOptionalNumber(options, "swapcache_low_wmark", path, wmark);
    const MapEntry* high = findEntry(options, "swapcache_high_wmark");
    const MapEntry* low = findEntry(options, "swapcache_low_wmark");
    if ((high == nullptr) != (low == nullptr)) {
        const MapEntry& given = high != nullptr ? *high : *low;
        fail(given.keyAt, joinPath(path, given.key), given.value.scalar,
             fmt::format("'{}' needs '{}' too; give both swap-cache marks or neither", given.key,
                         high != nullptr ? "swapcache_low_wmark" : "swapcache_high_wmark"));
    }
    if (high != nullptr && *config.swapcacheLowWmark >= *config.swapcacheHighWmark) {
        fail(low->value.at, joinPath(path, "swapcache_low_wmark"), low->value.scalar,
             fmt::format("value {} is not below swapcache_high_wmark {}; allowed 1..{}",
                         *config.swapcacheLowWmark, *config.swapcacheHighWmark,
                         *config.swapcacheHighWmark - 1));
    }
}

// --- end of etmem 1.1's keys

// --- the task's engine and the engine's own keys (its registry row)

const EngineRow& readEngine(const MapEntry& entry, const std::string& path) {
    const std::string choices = engineChoices();
    const std::string_view text = readScalar(entry, path, choices);
    const EngineRow* engine = findEngine(text);
    if (engine == nullptr) {
        fail(entry.value.at, path, text,
             fmt::format("value '{}' is not a known engine; allowed {}", displayText(text),
                         choices));
    }
    return *engine;
}

bool requiresParam(const EngineRow& engine) {
    return std::any_of(engine.keys.begin(), engine.keys.end(), [](const EngineKey& key) {
        return key.required && key.placement == KeyPlacement::Param;
    });
}

void requireEngineKey(const ConfigNode& map, Position owner, const std::string& path,
                      std::string_view key) {
    if (findEntry(map, key) != nullptr) return;
    fail(owner, joinPath(path, key), "",
         fmt::format("required key '{}' is missing from the section that starts here", key));
}

// The task's keys were checked against every engine's; here against its own engine's (a key
// of another engine, a key only this engine requires).
void checkEngineKeys(const ConfigNode& task, Position owner, const std::string& path,
                     const EngineRow& engine) {
    const std::vector<std::string_view> own = taskKeysOf(engine);
    for (const MapEntry& entry : task.entries) {
        if (std::find(own.begin(), own.end(), entry.key) != own.end()) continue;
        fail(entry.keyAt, joinPath(path, entry.key), entry.value.scalar,
             fmt::format("key '{}' is not a key of engine {}; its keys are {}", entry.key,
                         engine.name, listKeys(own)));
    }
    if (requiresParam(engine)) requireEngineKey(task, owner, path, kParamKey);
    for (const EngineKey& key : engine.keys) {
        if (key.required && key.placement != KeyPlacement::Param)
            requireEngineKey(task, owner, path, key.name);
    }
}

// The engine's keys of one placement that the map gives, in the engine's order.
void readEngineKeys(const ConfigNode& map, const std::string& path, const EngineRow& engine,
                    KeyPlacement placement, unsigned loop, TaskConfig& config) {
    for (const EngineKey& key : engine.keys) {
        if (key.placement != placement) continue;
        if (const MapEntry* entry = findEntry(map, key.name))
            key.read(KeyValue(*entry, joinPath(path, key.name), loop), config);
    }
}

void readParam(const ConfigNode& task, const std::string& path, const EngineRow& engine,
               unsigned loop, TaskConfig& config) {
    const MapEntry* entry = findEntry(task, kParamKey);
    if (entry == nullptr) return;
    const std::string paramPath = joinPath(path, kParamKey);
    const ConfigNode& param = section(entry->value, entry->keyAt, paramPath, paramKeysOf(engine));
    for (const EngineKey& key : engine.keys) {
        if (key.required && key.placement == KeyPlacement::Param)
            requireEngineKey(param, entry->keyAt, paramPath, key.name);
    }
    readEngineKeys(param, paramPath, engine, KeyPlacement::Param, loop, config);
}

TaskConfig readTask(const ConfigNode& node, Position owner, const std::string& path, unsigned loop,
                    const ParseOptions& options) {
    const ConfigNode& task = section(node, owner, path, taskKeys());
    TaskConfig config;
    config.type = readType(*findEntry(task, "type"), joinPath(path, "type"));
    config.value = readTaskValue(*findEntry(task, "value"), joinPath(path, "value"), config.type);
    config.maxThreads = readMaxThreads(task, path, options.cores);
    const EngineRow& engine = readEngine(*findEntry(task, "engine"), joinPath(path, "engine"));
    config.engine = engine.name;
    checkEngineKeys(task, owner, path, engine);
    readParam(task, path, engine, loop, config);
    readEngineKeys(task, path, engine, KeyPlacement::Leading, loop, config);
    if (const MapEntry* name = findEntry(task, kTaskNameKey))
        config.name = readObjectName(*name, joinPath(path, kTaskNameKey));
    readEngineKeys(task, path, engine, KeyPlacement::Trailing, loop, config);
    return config;
}

std::vector<TaskConfig> readPolicies(const MapEntry& entry, const std::string& path, unsigned loop,
                                     const ParseOptions& options, bool tasksOptional) {
    const ConfigNode& policies = entry.value;
    // etmem 1.1 adds a project before its tasks (`obj add` of a [project] file).
    if (tasksOptional && policies.kind == Kind::Sequence && policies.items.empty()) return {};
    // An empty "policies:" is one task with every key missing, as in the line form.
    if (policies.kind == Kind::Map || policies.kind == Kind::Null) {
        return {readTask(policies, entry.keyAt, path, loop, options)};
    }
    if (policies.kind != Kind::Sequence || policies.items.empty()) {
        fail(policies.at, path, policies.scalar,
             fmt::format("expected one task (a section with the keys {}) or a list of tasks; "
                         "got {}",
                         listKeys(taskKeys()),
                         policies.kind == Kind::Sequence ? "an empty list" : describe(policies)));
    }
    std::vector<TaskConfig> tasks;
    for (std::size_t i = 0; i < policies.items.size(); ++i) {
        const ConfigNode& item = policies.items[i];
        tasks.push_back(readTask(item, item.at, fmt::format("{}[{}]", path, i), loop, options));
    }
    return tasks;
}

// An optional DAMON region key: 0 when absent (the scanner derives it).
std::uint64_t readOptional(const ConfigNode& options, std::string_view key, const Range& range) {
    const MapEntry* entry = findEntry(options, key);
    return entry == nullptr ? 0 : readNumber(*entry, joinPath("options", key), range);
}

// etmem 1.1's region keys, in microseconds; bounds that depend on other keys say so.
RegionScanConfig readRegionScan(const ConfigNode& options, unsigned interval) {
    const std::uint64_t intervalUs = std::uint64_t{interval} * 1'000'000;
    RegionScanConfig region;
    region.sampleIntervalUs =
        readOptional(options, "sample_interval",
                     {kMinSampleIntervalUs, std::min(kMaxSampleIntervalUs, intervalUs),
                      fmt::format(" microseconds (at most 10 s and interval, {} s)", interval)});
    const std::uint64_t aggrLow = std::max(kMinAggrIntervalUs, region.sampleIntervalUs);
    region.aggrIntervalUs = readOptional(
        options, "aggr_interval",
        {aggrLow, intervalUs,
         fmt::format(" microseconds (at least sample_interval, at most interval, {} s)",
                     interval)});
    const std::uint64_t updateLow =
        std::max(kMinAggrIntervalUs, std::max(region.aggrIntervalUs, region.sampleIntervalUs));
    region.updateIntervalUs =
        readOptional(options, "update_interval",
                     {updateLow, kMaxUpdateIntervalUs, " microseconds (at least aggr_interval)"});
    region.minNrRegions =
        readOptional(options, "min_nr_regions", {kMinNrRegions, kMaxNrRegions, ""});
    region.maxNrRegions =
        readOptional(options, "max_nr_regions",
                     {std::max(kMinNrRegions, region.minNrRegions), kMaxNrRegions,
                      region.minNrRegions != 0 ? " (at least min_nr_regions)" : ""});
    return region;
}

}  // namespace

ProjectConfig validateConfig(const ConfigNode& root, const ParseOptions& options,
                             bool tasksOptional) {
    section(root, root.at, "", kRootKeys);
    const MapEntry& optionsEntry = *findEntry(root, "options");
    const ConfigNode& optionsNode =
        section(optionsEntry.value, optionsEntry.keyAt, "options", kOptionKeys);
    ProjectConfig config;
    config.loop = readUnsigned(optionsNode, "loop", "options", {kMinLoop, kMaxLoop, ""});
    config.interval =
        readUnsigned(optionsNode, "interval", "options", {kMinInterval, kMaxInterval, ""});
    config.sleep = readUnsigned(optionsNode, "sleep", "options", {kMinSleep, kMaxSleep, ""});
    config.region = readRegionScan(optionsNode, config.interval);
    readProjectGates(optionsNode, "options", config);
    config.tasks = readPolicies(*findEntry(optionsNode, "policies"), "options.policies",
                                config.loop, options, tasksOptional);
    return config;
}

}  // namespace etmem::config

namespace etmem {

namespace {

// A task's cold_destination against the machine's nodes and tiers, read only when a task
// names a node.
std::string checkColdNodes(const ProjectConfig& config) {
    std::optional<kernel::MemoryTiers> tiers;
    for (std::size_t i = 0; i < config.tasks.size(); ++i) {
        const auto& slide = config.tasks[i].slide;
        if (slide.coldNode < 0 && slide.nodePairs.empty()) continue;
        if (!tiers) tiers = kernel::discoverMemoryTiers({});
        const std::string task = config.tasks.size() == 1 ? std::string("options.policies")
                                                          : fmt::format("options.policies[{}]", i);
        if (slide.coldNode >= 0) {
            if (auto problem =
                    kernel::coldNodeProblem(*tiers, slide.coldNode, task + ".cold_destination");
                !problem.empty())
                return problem;
        }
        for (const auto& [hot, cold] : slide.nodePairs) {
            if (auto problem = kernel::nodePairProblem(*tiers, hot, cold, task + ".node_pair");
                !problem.empty())
                return problem;
        }
    }
    return {};
}

}  // namespace

std::string checkHostLimits(const ProjectConfig& config, unsigned cores) {
    if (auto problem = checkColdNodes(config); !problem.empty()) return problem;
    const std::uint64_t high = 2 * std::uint64_t{cores} + 1;
    for (std::size_t i = 0; i < config.tasks.size(); ++i) {
        const unsigned maxThreads = config.tasks[i].maxThreads;
        if (maxThreads <= high) continue;
        const std::string key = config.tasks.size() == 1
                                    ? std::string("options.policies.max_threads")
                                    : fmt::format("options.policies[{}].max_threads", i);
        return fmt::format(
            "{}: value {} is more than this machine allows; allowed 1..{} "
            "(2*cores+1 with {} cores)",
            key, maxThreads, high, cores);
    }
    return {};
}

}  // namespace etmem
