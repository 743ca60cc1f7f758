// SPDX-License-Identifier: MulanPSL-2.0
// The project configuration model and its readers.
//
// Two file forms give the same model: YAML (the documented form) and etmem 1.0's
// line-oriented `key : value` form indented with any mix of tabs and spaces. Both are
// validated by the same rules, and every rejection says where, which key, which value and
// what is allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/contract/limits.hpp"  // kMaxConfigBytes: the CLI applies the same bound
#include "etmem/engines/damon_settings.hpp"
#include "etmem/psi/psi_settings.hpp"
#include "etmem/slide/slide_settings.hpp"

namespace etmem {

// Ranges the configuration keys accept (inclusive).
inline constexpr unsigned kMinLoop = 1, kMaxLoop = 120;
inline constexpr unsigned kMinInterval = 1, kMaxInterval = 1200;
inline constexpr unsigned kMinSleep = 1, kMaxSleep = 1200;
inline constexpr std::size_t kMaxProcessNameLength = 15;  // TASK_COMM_LEN - 1
// DAMON region-scan keys (etmem 1.1's names; intervals in microseconds as in 1.1 and DAMON).
// 0 in the model means "not given": the DAMON scanner derives it from interval and the
// target's resident size (see damon_scanner.cpp).
inline constexpr std::uint64_t kMinSampleIntervalUs = 100, kMaxSampleIntervalUs = 10'000'000;
inline constexpr std::uint64_t kMinAggrIntervalUs = 1'000;
inline constexpr std::uint64_t kMaxUpdateIntervalUs = 3'600'000'000;
inline constexpr std::uint64_t kMinNrRegions = 3;  // DAMON refuses fewer (and so does 1.1)
inline constexpr std::uint64_t kMaxNrRegions = 1'000'000;
// etmem 1.1's gates (etmemd_project.c, etmemd_slide.c): percentages of RAM and of a target.
inline constexpr unsigned kMinSysmemThreshold = 0, kMaxSysmemThreshold = 100;
inline constexpr unsigned kMinSwapcacheWmark = 1, kMaxSwapcacheWmark = 100;
inline constexpr std::size_t kMaxObjectNameLength = 64;  // 1.1's MAX_OBJ_NAME_LEN
// A systemd unit name is at most 255 bytes (UNIT_NAME_MAX).
inline constexpr std::size_t kMaxUnitNameLength = 255;

// pid: one process; name: every process with that comm; unit: the processes of a systemd
// unit's cgroup (.service, .scope, .slice); cgroup: those of a cgroup v2 path relative to
// the cgroup2 mount. Each with its descendants (cgroup: the cgroup's descendants).
enum class TaskType { Pid, Name, Unit, Cgroup };

struct TaskConfig {
    TaskType type = TaskType::Pid;
    // decimal pid (pid), process name (name), unit name (unit) or cgroup path (cgroup)
    std::string value;
    unsigned maxThreads = 1;
    // The engine that runs the task: a row of the engine registry (etmem/engine_registry.hpp).
    std::string engine = "slide";
    // The task's name (etmem 1.1's [task] name=, "" when not given).
    std::string name{};
    // The keys of engine slide; default values when the task runs another engine.
    slide::SlideSettings slide;
    // The keys of engine psi; default values when the task runs another engine.
    psi::PsiSettings psi{};
    // The keys of engine damon; default values when the task runs another engine.
    damon::DamonSettings damon{};

    bool operator==(const TaskConfig&) const = default;
};

// The optional DAMON region keys of `options:` (etmem 1.1's scan_type=region keys); 0: derived.
struct RegionScanConfig {
    std::uint64_t sampleIntervalUs = 0;  // sample_interval
    std::uint64_t aggrIntervalUs = 0;    // aggr_interval, at most interval
    std::uint64_t updateIntervalUs = 0;  // update_interval, at least aggr_interval
    std::uint64_t minNrRegions = 0;      // min_nr_regions
    std::uint64_t maxNrRegions = 0;      // max_nr_regions, at least min_nr_regions

    bool operator==(const RegionScanConfig&) const = default;
};

// The region keys with their fields, in the order every config form writes them; a key whose
// value is 0 (derived) is not written.
struct RegionKey {
    std::string_view name;
    std::uint64_t RegionScanConfig::*field;
};
inline constexpr RegionKey kRegionKeys[] = {
    {"sample_interval", &RegionScanConfig::sampleIntervalUs},
    {"aggr_interval", &RegionScanConfig::aggrIntervalUs},
    {"update_interval", &RegionScanConfig::updateIntervalUs},
    {"min_nr_regions", &RegionScanConfig::minNrRegions},
    {"max_nr_regions", &RegionScanConfig::maxNrRegions},
};

struct ProjectConfig {
    unsigned loop = 1;
    unsigned interval = 1;
    unsigned sleep = 1;
    // etmem 1.1's project gates; unset when not given.
    std::optional<unsigned> sysmemThreshold;     // swap only while MemFree < this % of RAM
    std::optional<unsigned> swapcacheHighWmark;  // given together, low < high (% of RAM)
    std::optional<unsigned> swapcacheLowWmark;
    std::vector<TaskConfig> tasks;
    RegionScanConfig region;
    // mode for every task that does not give its own; unset: act.
    std::optional<slide::RunMode> mode;

    bool operator==(const ProjectConfig&) const = default;
};

// The mode a task runs in: its own, else its project's, else act.
slide::RunMode effectiveMode(const ProjectConfig& project, const TaskConfig& task);

// A rejected configuration. line/column are 1-based; 0 where the fault has no position
// (an empty file, say). what() is the full human sentence: message (the broken rule and
// what is allowed) after "line L, column C: " and "key: " when those are known, e.g.
// "line 2, column 9: options.loop: value 0 is out of range; allowed 1..120". key is a dotted
// path with 0-based list indexes ("options.policies[1].param.T"); value is shown escaped and
// shortened.
class ConfigError : public std::runtime_error {
  public:
    ConfigError(int line, int column, std::string key, std::string value,
                const std::string& message);

    int line() const { return line_; }
    int column() const { return column_; }
    const std::string& key() const { return key_; }
    const std::string& value() const { return value_; }

  private:
    int line_;
    int column_;
    std::string key_;
    std::string value_;
};

struct ParseOptions {
    // The number of online CPUs of the host that parses the config. max_threads is not
    // bounded by it here: a config may run elsewhere, and fitToHost bounds it at launch.
    unsigned cores = 1;
};

// etmem 1.1's host-dependent bound: max_threads is at most 2 * cores + 1.
unsigned hostMaxThreads(unsigned cores);
// Lowers every task's max_threads above hostMaxThreads(cores) to that bound, as etmem 1.1
// does, and returns a warning per task lowered, naming the key, the value and the bound.
std::vector<std::string> fitToHost(ProjectConfig& config, unsigned cores);
// What a config asks of the host's memory nodes that this one cannot give, as a sentence
// naming the key; "" when it fits: a task's cold_destination node must exist, have memory
// and be slower than the fastest node (read from sysfs, only for such tasks). Thread counts
// are not refused here: fitToHost lowers them.
std::string checkHostLimits(const ProjectConfig& config, unsigned cores);

enum class ConfigFormat { Yaml, Legacy, Ini };

// Which reader a text is for. Legacy is chosen for etmem 1.0 files (tab indentation,
// `key : value` lines that are not valid YAML); Ini for etmem 1.1 files, whose first line
// that is not blank or a comment is a section header such as `[project]`.
ConfigFormat detectFormat(std::string_view text);

// Parses and validates a config in either form. Throws ConfigError.
ProjectConfig parseConfig(std::string_view text, const ParseOptions& options);

// The config as normalized YAML: every key present (the optional DAMON region keys only when
// given), in a fixed order. Parsing the result gives back an equal ProjectConfig.
std::string toYaml(const ProjectConfig& config);

std::string_view toString(TaskType type);

}  // namespace etmem
