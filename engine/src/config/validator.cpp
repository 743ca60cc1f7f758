#include "config/validator.hpp"

#include <fmt/format.h>

#include <sys/types.h>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>

#include "config/config_schema.hpp"
#include "config/config_text.hpp"
#include "config/suggest.hpp"

namespace etmem::config {
namespace {

using Kind = ConfigNode::Kind;
using Keys = std::span<const std::string_view>;

constexpr std::uint64_t kMaxPid = std::numeric_limits<pid_t>::max();

struct Range {
    std::uint64_t low;
    std::uint64_t high;
    std::string why;  // how the bounds come about, when they are not fixed
};

[[noreturn]] void fail(Position at, const std::string& path, std::string_view value,
                       const std::string& message) {
    throw ConfigError(at.line, at.column, path, displayText(value), message);
}

std::string joinPath(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string describe(const ConfigNode& node) {
    switch (node.kind) {
        case Kind::Null:
            return "no value";
        case Kind::Scalar:
            return "'" + displayText(node.scalar) + "'";
        case Kind::Map:
            return "a section of keys";
        case Kind::Sequence:
            return "a list";
    }
    return "?";
}

std::string listKeys(Keys keys) {
    std::string list;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        list += (i == 0 ? "" : (i + 1 == keys.size() ? " and " : ", ")) + std::string(keys[i]);
    }
    return list;
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

std::string_view readScalar(const MapEntry& entry, const std::string& path,
                            const std::string& allowed) {
    const ConfigNode& value = entry.value;
    if (value.kind == Kind::Scalar) return value.scalar;
    const std::string got = value.kind == Kind::Null ? "no value" : "value is " + describe(value);
    fail(value.at, path, "", fmt::format("{}; allowed {}", got, allowed));
}

enum class NumberShape { NotANumber, Negative, Whole };

// Decimal digits, optionally after '-'; the value saturates instead of overflowing.
NumberShape parseWhole(std::string_view text, std::uint64_t& value) {
    const bool negative = !text.empty() && text.front() == '-';
    if (negative) text.remove_prefix(1);
    if (text.empty()) return NumberShape::NotANumber;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return NumberShape::NotANumber;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
        value = value > (limit - digit) / 10 ? limit : value * 10 + digit;
    }
    return negative ? NumberShape::Negative : NumberShape::Whole;
}

std::uint64_t readNumber(const MapEntry& entry, const std::string& path, const Range& range) {
    const std::string allowed = fmt::format("{}..{}{}", range.low, range.high, range.why);
    const std::string_view text = readScalar(entry, path, allowed);
    std::uint64_t value = 0;
    const NumberShape shape = parseWhole(text, value);
    if (shape == NumberShape::NotANumber) {
        fail(entry.value.at, path, text,
             fmt::format("value '{}' is not a whole number; allowed {}", displayText(text),
                         allowed));
    }
    if (shape == NumberShape::Negative || value < range.low || value > range.high) {
        fail(entry.value.at, path, text,
             fmt::format("value {} is out of range; allowed {}", displayText(text), allowed));
    }
    return value;
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

// A size: a whole number of bytes, or with a K, M or G suffix (powers of 1024).
std::uint64_t readSwapRate(const ConfigNode& task, const std::string& parent) {
    const MapEntry* entry = findEntry(task, "max_swap_rate");
    if (entry == nullptr) return 0;
    const std::string path = joinPath(parent, "max_swap_rate");
    const std::string allowed =
        fmt::format("bytes per second, {}..{} (1T), with an optional K, M or G suffix (e.g. 8M)",
                    kMinSwapRate, kMaxSwapRate);
    std::string_view text = readScalar(*entry, path, allowed);
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
    std::uint64_t value = 0;
    const NumberShape shape = parseWhole(digits, value);
    if (shape != NumberShape::Whole) {
        fail(entry->value.at, path, text,
             fmt::format("value '{}' is not a size; allowed {}", displayText(text), allowed));
    }
    const bool overflow = value > kMaxSwapRate / unit;
    value = overflow ? kMaxSwapRate + 1 : value * unit;
    if (value < kMinSwapRate || value > kMaxSwapRate) {
        fail(entry->value.at, path, text,
             fmt::format("value {} is out of range; allowed {}", displayText(text), allowed));
    }
    return value;
}

// A percentage with at most one decimal, as PSI reports it (e.g. 10 or 2.5).
double readPressureLimit(const ConfigNode& task, const std::string& parent) {
    const MapEntry* entry = findEntry(task, "pressure_limit");
    if (entry == nullptr) return 0;
    const std::string path = joinPath(parent, "pressure_limit");
    const std::string allowed =
        "0.1..100 (percent of time stalled on memory, PSI some avg10; at most one decimal)";
    const std::string_view text = readScalar(*entry, path, allowed);
    const std::size_t dot = text.find('.');
    std::uint64_t whole = 0, tenth = 0;
    const bool shaped =
        parseWhole(text.substr(0, dot), whole) == NumberShape::Whole &&
        (dot == std::string_view::npos ||
         (text.size() == dot + 2 && parseWhole(text.substr(dot + 1), tenth) == NumberShape::Whole));
    if (!shaped) {
        fail(entry->value.at, path, text,
             fmt::format("value '{}' is not a percentage; allowed {}", displayText(text), allowed));
    }
    const std::uint64_t tenths = std::min<std::uint64_t>(whole, 100000) * 10 + tenth;
    if (tenths < 1 || tenths > 1000) {
        fail(entry->value.at, path, text,
             fmt::format("value {} is out of range; allowed {}", displayText(text), allowed));
    }
    return static_cast<double>(tenths) / 10.0;
}

std::string readTaskValue(const MapEntry& entry, const std::string& path, TaskType type) {
    if (type == TaskType::Name) return readProcessName(entry, path);
    if (type == TaskType::Unit) return readUnitName(entry, path);
    if (type == TaskType::Cgroup) return readCgroupPath(entry, path);
    // Normalized to plain decimal so "0042" and "42" are the same task.
    return std::to_string(readNumber(entry, path, {1, kMaxPid, " (a process id)"}));
}

std::string readEngine(const MapEntry& entry, const std::string& path) {
    const std::string_view text = readScalar(entry, path, "slide");
    if (text != "slide") {
        fail(entry.value.at, path, text,
             fmt::format("value '{}' is not a known engine; allowed slide", displayText(text)));
    }
    return std::string(text);
}

// An optional key whose value is one of `allowed`; `fallback` when absent.
std::string readChoice(const ConfigNode& task, std::string_view key, const std::string& path,
                       std::span<const std::string_view> allowed, std::string_view fallback) {
    const MapEntry* entry = findEntry(task, key);
    if (entry == nullptr) return std::string(fallback);
    const std::string keyPath = joinPath(path, std::string(key));
    const std::string choices = listKeys(allowed);
    const std::string_view text = readScalar(*entry, keyPath, choices);
    if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
        fail(entry->value.at, keyPath, text,
             fmt::format("value '{}' is not a known {}; allowed {}", displayText(text), key,
                         choices));
    }
    return std::string(text);
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

unsigned readThreshold(const MapEntry& paramEntry, const std::string& path, unsigned loop) {
    const std::string paramPath = joinPath(path, "param");
    const ConfigNode& param = section(paramEntry.value, paramEntry.keyAt, paramPath, kParamKeys);
    const Range range{1, 3 * std::uint64_t{loop}, fmt::format(" (3*loop with loop {})", loop)};
    return readUnsigned(param, "T", paramPath, range);
}

// --- etmem 1.1's keys (sysmem_threshold, swapcache marks, swap_threshold, dram_percent,
// swap_flag, task name): all optional, ranges as etmemd_project.c / etmemd_slide.c have them.

std::optional<unsigned> readOptionalNumber(const ConfigNode& map, std::string_view key,
                                           const std::string& path, const Range& range) {
    const MapEntry* entry = findEntry(map, key);
    if (entry == nullptr) return std::nullopt;
    return static_cast<unsigned>(readNumber(*entry, joinPath(path, key), range));
}

// A size as 1.1 writes it ("10g"): whole number and a unit k, m, g or t (powers of 1024).
std::uint64_t readSize(const MapEntry& entry, const std::string& path) {
    const std::string allowed =
        "a size of 1k..1024t written as a number and a unit k, m, g or t, such as 10g";
    const std::string_view text = readScalar(entry, path, allowed);
    const auto fault = [&](const std::string& what) -> std::uint64_t {
        fail(entry.value.at, path, text,
             fmt::format("value '{}' {}; allowed {}", displayText(text), what, allowed));
    };
    if (text.empty()) return fault("is empty");
    static constexpr std::string_view kUnits = "kmgt";
    const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
    const std::size_t power = kUnits.find(unit);
    if (power == std::string_view::npos) return fault("has no unit");
    std::uint64_t number = 0;
    if (parseWhole(text.substr(0, text.size() - 1), number) != NumberShape::Whole)
        return fault("is not a whole number and a unit");
    const unsigned shift = 10 * static_cast<unsigned>(power + 1);
    const std::uint64_t limit = kMaxSwapThresholdBytes >> shift;
    if (number == 0 || number > limit) return fault("is out of range");
    return number << shift;
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

void readTaskGates(const ConfigNode& task, const std::string& path, TaskConfig& config) {
    if (const MapEntry* name = findEntry(task, "name"))
        config.name = readObjectName(*name, joinPath(path, "name"));
    if (const MapEntry* size = findEntry(task, "swap_threshold"))
        config.swapThresholdBytes = readSize(*size, joinPath(path, "swap_threshold"));
    config.dramPercent = readOptionalNumber(task, "dram_percent", path,
                                            {kMinDramPercent, kMaxDramPercent,
                                             " (% of the "
                                             "target's memory)"})
                             .value_or(0);
    config.swapFlag = readChoice(task, "swap_flag", path, kSwapFlagValues, "no") == "yes";
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

TaskConfig readTask(const ConfigNode& node, Position owner, const std::string& path, unsigned loop,
                    const ParseOptions& options) {
    const ConfigNode& task = section(node, owner, path, kTaskKeys);
    TaskConfig config;
    config.type = readType(*findEntry(task, "type"), joinPath(path, "type"));
    config.value = readTaskValue(*findEntry(task, "value"), joinPath(path, "value"), config.type);
    config.maxThreads = readMaxThreads(task, path, options.cores);
    config.engine = readEngine(*findEntry(task, "engine"), joinPath(path, "engine"));
    config.T = readThreshold(*findEntry(task, "param"), path, loop);
    config.scanner = readChoice(task, "scanner", path, kScannerValues, "auto");
    config.swapper = readChoice(task, "swapper", path, kSwapperValues, "auto");
    readTaskGates(task, path, config);
    config.maxSwapRate = readSwapRate(task, path);
    config.pressureLimit = readPressureLimit(task, path);
    config.coldCycles = readOptionalNumber(task, "cold_cycles", path,
                                           {kMinColdCycles, kMaxColdCycles,
                                            " (consecutive cold cycles before a page is swapped)"})
                            .value_or(1);
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
                         listKeys(kTaskKeys),
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

std::string checkHostLimits(const ProjectConfig& config, unsigned cores) {
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
