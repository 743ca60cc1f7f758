// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/project_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

namespace etmem {

std::string describeTask(const TaskConfig& task) {
    return fmt::format("{}:{}", toString(task.type), task.value);
}

ProjectRunner::ProjectRunner(std::string projectName, ProjectConfig config,
                             TaskEngineFactory engines, Logger& logger, StatusListener listener,
                             ResolveEnvironment environment)
    : projectName_(std::move(projectName)),
      config_(std::move(config)),
      engines_(std::move(engines)),
      logger_(logger),
      listener_(std::move(listener)),
      environment_(std::move(environment)) {
    workers_.reserve(config_.tasks.size());
    for (std::size_t i = 0; i < config_.tasks.size(); ++i) {
        try {
            workers_.emplace_back([this, i](std::stop_token stop) { runTask(stop, i); });
        } catch (const std::system_error& e) {
            // All the project's tasks run or none: stop the ones started, then say why.
            requestStop();
            workers_.clear();
            throw std::runtime_error(fmt::format(
                "cannot start a thread for task {} ({} of the project's {} tasks had one): "
                "{}; etmemd runs a thread per task and is at its limit of threads (systemd's "
                "TasksMax=, its cgroup's pids.max or the kernel's threads-max)",
                describeTask(config_.tasks[i]), i, config_.tasks.size(), e.what()));
        }
    }
}

ProjectRunner::~ProjectRunner() {
    requestStop();
    workers_.clear();  // joins
}

void ProjectRunner::requestStop() {
    for (auto& worker : workers_) worker.request_stop();
    // condition_variable_any's stop_token wait wakes by itself; this covers a waiter that
    // is between checking the token and blocking.
    wakeUp_.notify_all();
}

bool ProjectRunner::waitFor(std::stop_token stop, std::chrono::seconds duration) {
    std::unique_lock lock(waitMutex_);
    wakeUp_.wait_for(lock, stop, duration, [] { return false; });
    return !stop.stop_requested();
}

void ProjectRunner::runTask(std::stop_token stop, std::size_t taskIndex) {
    const TaskConfig& task = config_.tasks[taskIndex];
    LogContext log{projectName_, describeTask(task), 0};
    std::unique_ptr<TaskEngine> engine;
    try {
        engine = engines_(EngineContext{config_, task, log, logger_});
    } catch (const std::exception& e) {
        logger_.log(LogLevel::Error, log, fmt::format("cannot start the engine: {}", e.what()));
        TaskStatus failed;
        failed.taskIndex = taskIndex;
        failed.lastCycle.error = fmt::format("cannot start the engine: {}", e.what());
        listener_(failed);
        return;
    }
    TaskStatus status;
    status.taskIndex = taskIndex;
    while (!stop.stop_requested()) {
        runCycle(stop, *engine, task, status, log);
        if (!waitFor(stop, std::chrono::seconds(config_.sleep))) break;
    }
}

// A unit that stops or starts is said once in the journal, not every cycle.
void ProjectRunner::noteResolution(TaskStatus& status, const std::string& note,
                                   const LogContext& log) {
    if (note == status.targetNote) return;
    if (!note.empty())
        logger_.log(LogLevel::Info, log, fmt::format("{}; it is picked up when it runs", note));
    else if (!status.targetNote.empty())
        logger_.log(LogLevel::Info, log, "the task's processes are back");
    status.targetNote = note;
}

void ProjectRunner::runCycle(std::stop_token stop, TaskEngine& engine, const TaskConfig& task,
                             TaskStatus& status, const LogContext& log) {
    const auto start = std::chrono::steady_clock::now();
    CycleReport report;
    try {
        Resolution resolution = resolveTask(task, environment_);
        std::vector<Target>& targets = resolution.targets;
        status.pids.clear();
        for (const auto& target : targets) status.pids.push_back(target.pid);
        status.cgroup = resolution.cgroup;
        noteResolution(status, resolution.note, log);
        if (targets.empty())
            logger_.log(LogLevel::Debug, log, "no process matches this task in this cycle");
        engine.beginCycle(targets, stop);
        if (stop.stop_requested()) return;
        for (unsigned scan = 0; scan < config_.loop; ++scan) {
            if (!waitFor(stop, std::chrono::seconds(config_.interval))) return;
            engine.scan(stop);
        }
        if (stop.stop_requested()) return;
        report = engine.act(stop);
    } catch (const std::exception& e) {
        // An engine failure ends this cycle, not the project: the next cycle tries again.
        report.error = e.what();
        logger_.log(LogLevel::Error, log, fmt::format("cycle failed: {}", e.what()));
    }
    if (stop.stop_requested()) return;
    status.cycles++;
    status.lastCycleDuration = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    status.totals.accumulate(report.figures());
    status.lastCycle = std::move(report);
    listener_(status);
}

}  // namespace etmem
