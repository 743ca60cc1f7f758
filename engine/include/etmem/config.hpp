// The project configuration model and its readers.
//
// Two file forms give the same model: YAML (the documented form) and etmem 1.0's
// line-oriented `key : value` form indented with any mix of tabs and spaces. Both are
// validated by the same rules, and every rejection says where, which key, which value and
// what is allowed.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace etmem {

// Ranges the configuration keys accept (inclusive).
inline constexpr unsigned kMinLoop = 1, kMaxLoop = 120;
inline constexpr unsigned kMinInterval = 1, kMaxInterval = 1200;
inline constexpr unsigned kMinSleep = 1, kMaxSleep = 1200;
inline constexpr std::size_t kMaxProcessNameLength = 15;  // TASK_COMM_LEN - 1
// A config larger than this is refused before it is parsed.
inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

// Ranges of the pacing keys (issue 12). max_swap_rate is bytes per second (0: no limit);
// pressure_limit is PSI "some avg10" in percent (0: not paced by pressure).
inline constexpr std::uint64_t kMinSwapRate = 4096, kMaxSwapRate = std::uint64_t{1} << 40;
inline constexpr double kMinPressureLimit = 0.1, kMaxPressureLimit = 100.0;
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
    std::string engine = "slide";
    unsigned T = 1;  // param.T: a page accessed in >= T weighted scans is hot
    // Backends pinned by the task: "auto" (probe) or a backend name; see config_schema.hpp.
    std::string scanner = "auto";
    std::string swapper = "auto";
    std::uint64_t maxSwapRate = 0;  // max_swap_rate, bytes/s; 0: unlimited
    double pressureLimit = 0;       // pressure_limit, percent; 0: off

    bool operator==(const TaskConfig&) const = default;
};

struct ProjectConfig {
    unsigned loop = 1;
    unsigned interval = 1;
    unsigned sleep = 1;
    std::vector<TaskConfig> tasks;

    bool operator==(const ProjectConfig&) const = default;
};

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
    // The number of online CPUs: max_threads accepts 1..2*cores+1.
    unsigned cores = 1;
};

enum class ConfigFormat { Yaml, Legacy };

// Which reader a text is for. Legacy is chosen for etmem 1.0 files (tab indentation,
// `key : value` lines that are not valid YAML).
ConfigFormat detectFormat(std::string_view text);

// Parses and validates a config in either form. Throws ConfigError.
ProjectConfig parseConfig(std::string_view text, const ParseOptions& options);

// The config as normalized YAML: every key present, in a fixed order. Parsing the result
// gives back an equal ProjectConfig.
std::string toYaml(const ProjectConfig& config);

std::string_view toString(TaskType type);

}  // namespace etmem
