// SPDX-License-Identifier: MulanPSL-2.0
// Child processes for bus-level tests: spawn, wait with a deadline, capture output.
// Every child is owned by a Process object; destroying it kills and reaps the child, so a
// failing test never leaves a daemon behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "etmem/unique_fd.hpp"

namespace etmem::test {

// Environment of a child: name -> value. Starts from the test's own environment.
using Environment = std::map<std::string, std::string>;
Environment currentEnvironment();

// How a child ended.
struct ExitStatus {
    bool exited = false;  // false: killed by a signal
    int code = -1;        // exit code when exited
    int signal = 0;       // signal number when killed
    bool success() const { return exited && code == 0; }
};
std::string describe(const ExitStatus& status);

// Where a spawned child's standard streams go: a file (appended), or /dev/null when empty.
// extraFds maps fds of the child (e.g. 3) to fds of the parent dup'ed there.
struct SpawnOptions {
    std::string stdoutPath;
    std::string stderrPath;
    std::map<int, int> extraFds;
};

// Both standard output streams of a child into one file.
inline SpawnOptions outputTo(const std::string& path) {
    SpawnOptions options;
    options.stdoutPath = path;
    options.stderrPath = path;
    return options;
}

class Process {
  public:
    Process() = default;
    static Process spawn(const std::vector<std::string>& argv, const Environment& env,
                         const SpawnOptions& options = {});
    // Takes ownership of a child this process spawned itself.
    static Process adopt(pid_t pid);
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0 && !status_; }
    void sendSignal(int signal) const;
    // Waits until the child exits or the timeout passes; nullopt on timeout.
    std::optional<ExitStatus> waitFor(std::chrono::milliseconds timeout);
    // True while the child has not exited (reaps it if it has).
    bool alive();
    // SIGKILL (if still running) and reap.
    ExitStatus kill();

  private:
    Process(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    std::optional<ExitStatus> status_;
};

// A command run to completion with its output captured.
struct CommandResult {
    ExitStatus status;
    bool timedOut = false;
    std::string out;
    std::string err;
    // Lines of stderr, without the empty tail after the last newline.
    std::vector<std::string> errLines() const;
};

// Runs argv with env, feeding `input` on stdin; kills it after `timeout`.
CommandResult runCommand(const std::vector<std::string>& argv, const Environment& env,
                         std::chrono::milliseconds timeout = std::chrono::seconds(20),
                         const std::string& input = {});

// A command line as a shell would show it, for failure messages.
std::string quoteCommand(const std::vector<std::string>& argv);

}  // namespace etmem::test
