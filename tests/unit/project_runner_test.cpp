// SPDX-License-Identifier: MulanPSL-2.0
// The cycle scheduler against a recording engine: the order of calls, the counts, and that
// stopping never waits out an interval.
#include "etmem/project_runner.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

namespace etmem {
namespace {

using namespace std::chrono_literals;

struct Recording {
    std::mutex mutex;
    std::string calls;  // b = beginCycle, s = scan, a = act
    std::vector<pid_t> lastTargets;
};

class RecordingEngine final : public TaskEngine {
  public:
    explicit RecordingEngine(Recording& recording) : recording_(recording) {}
    void beginCycle(std::span<const Target> targets, std::stop_token) override {
        std::lock_guard lock(recording_.mutex);
        recording_.calls += 'b';
        recording_.lastTargets.clear();
        for (const auto& target : targets) recording_.lastTargets.push_back(target.pid);
    }
    void scan(std::stop_token) override { append('s'); }
    CycleReport act(std::stop_token) override {
        append('a');
        CycleReport report;
        report.pagesSwapped = 2;
        report.bytesSwapped = 8192;
        return report;
    }

  private:
    void append(char c) {
        std::lock_guard lock(recording_.mutex);
        recording_.calls += c;
    }
    Recording& recording_;
};

ProjectConfig configFor(pid_t pid, unsigned loop, unsigned interval, unsigned sleep) {
    ProjectConfig config;
    config.loop = loop;
    config.interval = interval;
    config.sleep = sleep;
    TaskConfig task;
    task.type = TaskType::Pid;
    task.value = std::to_string(pid);
    config.tasks.push_back(task);
    return config;
}

TEST(ProjectRunner, CycleIsBeginThenLoopScansThenAct) {
    // A child to target: resolution never yields the process running the engine.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    Recording recording;
    std::mutex statusMutex;
    std::vector<TaskStatus> statuses;
    NullLogger logger;
    {
        ProjectRunner runner(
            "p", configFor(child, 2, 1, 1),
            [&](const EngineContext&) { return std::make_unique<RecordingEngine>(recording); },
            logger,
            [&](const TaskStatus& status) {
                std::lock_guard lock(statusMutex);
                statuses.push_back(status);
            });
        // One cycle: 2 intervals of 1 s, then act; stop during the following sleep.
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            std::lock_guard lock(statusMutex);
            if (!statuses.empty()) break;
            std::this_thread::sleep_for(20ms);
        }
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ASSERT_FALSE(statuses.empty());
    EXPECT_EQ(recording.calls.substr(0, 4), "bssa");
    EXPECT_EQ(statuses[0].cycles, 1u);
    EXPECT_EQ(statuses[0].totals.count(figure::kTotalBytesSwapped), 8192u);
    EXPECT_EQ(statuses[0].pids, std::vector<pid_t>{child});
    EXPECT_EQ(recording.lastTargets, std::vector<pid_t>{child});
    EXPECT_GE(statuses[0].lastCycleDuration, 2s);
}

TEST(ProjectRunner, StopInterruptsALongIntervalAtOnce) {
    Recording recording;
    NullLogger logger;
    auto runner = std::make_unique<ProjectRunner>(
        "p", configFor(::getpid(), 120, 1200, 1200),
        [&](const EngineContext&) { return std::make_unique<RecordingEngine>(recording); }, logger,
        [](const TaskStatus&) {});
    std::this_thread::sleep_for(100ms);
    auto start = std::chrono::steady_clock::now();
    runner.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
    EXPECT_EQ(recording.calls, "b");  // stopped inside the first interval: no scan, no act
}

TEST(ProjectRunner, EngineThatCannotStartIsReported) {
    NullLogger logger;
    std::atomic<int> reports = 0;
    std::string error;
    {
        ProjectRunner runner(
            "p", configFor(::getpid(), 1, 1, 1),
            [](const EngineContext&) -> std::unique_ptr<TaskEngine> {
                throw std::runtime_error("no scanner available");
            },
            logger,
            [&](const TaskStatus& status) {
                error = status.lastCycle.error;
                reports++;
            });
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (reports == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(reports, 1);
    EXPECT_NE(error.find("no scanner available"), std::string::npos);
}

TEST(ProjectRunner, EachTaskRunsOnItsOwnWorker) {
    Recording first, second;
    NullLogger logger;
    ProjectConfig config = configFor(::getpid(), 1, 1, 1);
    config.tasks.push_back(config.tasks[0]);
    std::atomic<int> done = 0;
    // Each worker calls the factory from its own thread, at the same time.
    std::atomic<int> created = 0;
    {
        ProjectRunner runner(
            "p", config,
            [&](const EngineContext&) {
                return std::make_unique<RecordingEngine>(created++ == 0 ? first : second);
            },
            logger, [&](const TaskStatus&) { done++; });
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (done < 2 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
    }
    EXPECT_GE(done.load(), 2);
    EXPECT_EQ(first.calls.substr(0, 3), "bsa");
    EXPECT_EQ(second.calls.substr(0, 3), "bsa");
}

}  // namespace
}  // namespace etmem
