// SPDX-License-Identifier: MulanPSL-2.0
// What `etmem project show` knows about a project: the Project object's properties, as
// plain data so rendering needs no bus.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace etmem::cli {

struct TaskInfo {
    std::string type;   // pid | name
    std::string value;  // the pid or the process name
    std::uint32_t maxThreads = 0;
    std::string engine;
    std::uint32_t threshold = 0;  // param T
};

// A figure the daemon reported that this CLI has no place for (a newer engine's or mover's
// count): shown as it came, under its own name.
struct OtherFigure {
    std::string name;
    std::variant<std::uint64_t, std::string, bool> value;  // a double comes as its text

    bool operator==(const OtherFigure&) const = default;
};

// What the daemon reports for a project (summed over its tasks) and for each task: the
// same figures at both levels, so one renderer serves both.
struct Statistics {
    std::vector<std::uint32_t> pids;  // targets resolved in the last cycle
    std::uint64_t cycles = 0;
    // Of the last cycle:
    std::uint64_t pagesScanned = 0;
    std::uint64_t pagesHot = 0;
    std::uint64_t pagesCold = 0;
    std::uint64_t pagesSwapped = 0;
    std::uint64_t bytesSwapped = 0;
    std::uint64_t lastCycleUSec = 0;
    // Since the project was started:
    std::uint64_t totalPagesSwapped = 0;
    std::uint64_t totalBytesSwapped = 0;
    // Backends the last cycle used: "" before the first cycle (or from a daemon that does
    // not report them), "none" when no backend could run.
    std::string scanner;
    std::string swapper;
    std::string lastError;
    // histogram[k]: pages with weighted access count k (read 1, write 3) in the last cycle,
    // k = 0..3*loop; empty when the daemon reported none.
    std::vector<std::uint64_t> histogram;
    // From Report and TaskReports: the figures not named above, in the daemon's order.
    std::vector<OtherFigure> others;
};

struct TaskStatistics {
    std::string task;  // "type:value", as the daemon names it
    Statistics stats;
};

// Where a task of type unit or cgroup resolved to (TaskTargets).
struct TaskTargetInfo {
    std::string task;
    std::string cgroup;  // "" for pid and name tasks
    std::string note;    // why no process ("unit x.service is inactive"), "" otherwise
};

// What pacing did in a task's last cycle (TaskPacing); only tasks with pacing keys.
struct TaskPacingInfo {
    std::string task;
    bool paced = false;
    bool paused = false;
    std::string reason;
    std::uint64_t rate = 0;  // bytes/s allowed, 0: no max_swap_rate
    double pressure = -1;    // PSI some avg10, percent; < 0: not read
};

struct ProjectInfo {
    std::string name;
    std::string state;  // stopped | running | failed
    // "api", or "file:<path>" for a project a file in projects.d defines; "" from a daemon
    // older than Source.
    std::string source;
    std::uint32_t loop = 0;
    std::uint32_t interval = 0;
    std::uint32_t sleep = 0;
    std::vector<TaskInfo> tasks;
    // etmem 1.1's gate keys that are set, as "key value" ("task 1: key value" for a task's),
    // as the daemon reports them (from a daemon older than Gates: read from the normalized
    // config); empty when none is set.
    std::vector<std::string> gates;
    Statistics stats;
    // In config order, one per task; empty from a daemon older than per-task statistics.
    std::vector<TaskStatistics> taskStatistics;
    std::vector<TaskTargetInfo> taskTargets;
    std::vector<TaskPacingInfo> taskPacing;
};

}  // namespace etmem::cli
