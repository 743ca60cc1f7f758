// SPDX-License-Identifier: MulanPSL-2.0
// The cycle scheduler: runs every task of a project on its own worker thread.
//
// A cycle of one task:
//   resolve the targets (re-resolved every cycle: new processes join, gone ones leave);
//   beginCycle  — the engine sets its baseline (e.g. marks the targets' pages idle);
//   loop times: wait `interval` s, then scan — each scan sees the accesses of one interval;
//   act         — classify the pages over all scans and act on the cold ones;
//   wait `sleep` s.
// Every wait ends at once when the runner is stopped, so stopping never waits out a
// 1200 s interval.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etmem/config.hpp"
#include "etmem/log.hpp"
#include "etmem/task_engine.hpp"

namespace etmem {

// Where one task stands after its latest cycle.
struct TaskStatus {
    std::size_t taskIndex = 0;
    std::vector<pid_t> pids;  // the targets of the latest cycle
    std::string cgroup;       // types unit and cgroup: the cgroup they resolved to
    std::string targetNote;   // why there were no targets ("unit x.service is inactive")
    std::uint64_t cycles = 0;
    CycleReport lastCycle;
    std::chrono::microseconds lastCycleDuration{0};
    // Since start, every accumulating figure of the cycles ("total_pages_swapped"...).
    FigureList totals;
};

class ProjectRunner {
  public:
    // Called on the task's worker thread after every cycle; must not block for long.
    using StatusListener = std::function<void(const TaskStatus&)>;

    // Starts a worker thread per task. Throws std::runtime_error, saying why, when the
    // threads cannot all be started; none is left running then.
    ProjectRunner(std::string projectName, ProjectConfig config, TaskEngineFactory engines,
                  Logger& logger, StatusListener listener, ResolveEnvironment environment = {});
    // Stops every task and waits for the workers.
    ~ProjectRunner();

    ProjectRunner(const ProjectRunner&) = delete;
    ProjectRunner& operator=(const ProjectRunner&) = delete;

    // Asks every task to stop and returns at once; the destructor waits for them.
    void requestStop();

  private:
    void runTask(std::stop_token stop, std::size_t taskIndex);
    void runCycle(std::stop_token stop, TaskEngine& engine, const TaskConfig& task,
                  TaskStatus& status, const LogContext& log);
    void noteResolution(TaskStatus& status, const std::string& note, const LogContext& log);
    // Sleeps for `duration` unless stop is requested first; returns false when stopped.
    bool waitFor(std::stop_token stop, std::chrono::seconds duration);

    std::string projectName_;
    ProjectConfig config_;
    TaskEngineFactory engines_;
    Logger& logger_;
    StatusListener listener_;
    ResolveEnvironment environment_;
    std::mutex waitMutex_;
    std::condition_variable_any wakeUp_;
    std::vector<std::jthread> workers_;  // last member: joined first on destruction
};

std::string describeTask(const TaskConfig& task);

}  // namespace etmem
