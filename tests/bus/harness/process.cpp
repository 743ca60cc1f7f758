// SPDX-License-Identifier: MulanPSL-2.0
#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

extern char** environ;

namespace etmem::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void throwErrno(const std::string& what, int error = errno) {
    throw std::system_error(error, std::generic_category(), what);
}

std::vector<char*> toArgv(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

std::vector<std::string> toEnvStrings(const Environment& env) {
    std::vector<std::string> strings;
    strings.reserve(env.size());
    for (const auto& [name, value] : env) strings.push_back(name + "=" + value);
    return strings;
}

ExitStatus decodeWaitStatus(int raw) {
    ExitStatus status;
    if (WIFEXITED(raw)) {
        status.exited = true;
        status.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status.signal = WTERMSIG(raw);
    }
    return status;
}

// RAII holder of posix_spawn's two attribute objects.
class SpawnSetup {
  public:
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions_);
        posix_spawnattr_init(&attributes_);
        // Children start with default signal dispositions and an empty mask, whatever the
        // test runner did to its own.
        sigset_t all;
        sigfillset(&all);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attributes_, &all);
        posix_spawnattr_setsigmask(&attributes_, &none);
        posix_spawnattr_setflags(&attributes_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attributes_);
    }
    void open(int fd, const std::string& path, int flags) {
        posix_spawn_file_actions_addopen(&actions_, fd, path.c_str(), flags, 0644);
    }
    void dup(int parentFd, int childFd) {
        posix_spawn_file_actions_adddup2(&actions_, parentFd, childFd);
    }
    pid_t spawn(const std::vector<std::string>& argv, const Environment& env) {
        auto args = toArgv(argv);
        auto envStrings = toEnvStrings(env);
        auto envp = toArgv(envStrings);
        pid_t pid = -1;
        int rc = posix_spawn(&pid, args[0], &actions_, &attributes_, args.data(), envp.data());
        if (rc != 0) throwErrno("posix_spawn " + argv.at(0), rc);
        return pid;
    }

  private:
    posix_spawn_file_actions_t actions_{};
    posix_spawnattr_t attributes_{};
};

struct Pipe {
    UniqueFd read;
    UniqueFd write;
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throwErrno("pipe2");
        read.reset(fds[0]);
        write.reset(fds[1]);
    }
};

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C", so its wrappers do not link
// from C++.
UniqueFd openPidfd(pid_t pid) {
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) throwErrno("pidfd_open");
    return UniqueFd(fd);
}

void setNonBlocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

Environment currentEnvironment() {
    Environment env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        std::string text(*entry);
        auto eq = text.find('=');
        if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
    }
    return env;
}

std::string describe(const ExitStatus& status) {
    if (status.exited) return "exit code " + std::to_string(status.code);
    if (status.signal != 0) return std::string("killed by signal ") + strsignal(status.signal);
    return "still running";
}

Process Process::spawn(const std::vector<std::string>& argv, const Environment& env,
                       const SpawnOptions& options) {
    SpawnSetup setup;
    setup.open(STDIN_FILENO, "/dev/null", O_RDONLY);
    auto outputFlags = O_WRONLY | O_CREAT | O_APPEND;
    setup.open(STDOUT_FILENO, options.stdoutPath.empty() ? "/dev/null" : options.stdoutPath,
               outputFlags);
    setup.open(STDERR_FILENO, options.stderrPath.empty() ? "/dev/null" : options.stderrPath,
               outputFlags);
    for (const auto& [childFd, parentFd] : options.extraFds) setup.dup(parentFd, childFd);
    return adopt(setup.spawn(argv, env));
}

Process Process::adopt(pid_t pid) {
    return Process(pid, openPidfd(pid));
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        if (running()) kill();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
        status_ = std::exchange(other.status_, std::nullopt);
    }
    return *this;
}

Process::~Process() {
    if (running()) kill();
}

void Process::sendSignal(int signal) const {
    if (running()) syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0);
}

std::optional<ExitStatus> Process::waitFor(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    if (pid_ <= 0) throw std::logic_error("waiting for a process that was never started");
    pollfd entry{pidfd_.get(), POLLIN, 0};
    int rc = 0;
    do {
        rc = poll(&entry, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return std::nullopt;
    int raw = 0;
    if (waitpid(pid_, &raw, 0) != pid_) throwErrno("waitpid");
    status_ = decodeWaitStatus(raw);
    return status_;
}

bool Process::alive() {
    return pid_ > 0 && !waitFor(std::chrono::milliseconds(0));
}

ExitStatus Process::kill() {
    if (status_) return *status_;
    sendSignal(SIGKILL);
    return *waitFor(std::chrono::hours(1));
}

std::vector<std::string> CommandResult::errLines() const {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < err.size()) {
        auto end = err.find('\n', start);
        if (end == std::string::npos) end = err.size();
        lines.push_back(err.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

CommandResult runCommand(const std::vector<std::string>& argv, const Environment& env,
                         std::chrono::milliseconds timeout, const std::string& input) {
    Pipe in, out, err;
    Process child;
    {
        SpawnSetup setup;
        setup.dup(in.read.get(), STDIN_FILENO);
        setup.dup(out.write.get(), STDOUT_FILENO);
        setup.dup(err.write.get(), STDERR_FILENO);
        child = Process::adopt(setup.spawn(argv, env));
    }
    // Only the child keeps these ends: EOF on out/err then means the child is done.
    in.read.reset();
    out.write.reset();
    err.write.reset();
    if (input.empty()) in.write.reset();
    for (int fd : {in.write.get(), out.read.get(), err.read.get()})
        if (fd >= 0) setNonBlocking(fd);

    CommandResult result;
    std::size_t written = 0;
    auto deadline = Clock::now() + timeout;
    while (out.read.valid() || err.read.valid()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timedOut = true;
            break;
        }
        pollfd entries[3] = {
            {out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}, {in.write.get(), POLLOUT, 0}};
        if (poll(entries, 3, static_cast<int>(left.count())) < 0) {
            if (errno == EINTR) continue;
            throwErrno("poll");
        }
        if (entries[2].revents != 0) {
            ssize_t n = write(in.write.get(), input.data() + written, input.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if (n < 0 || written == input.size()) in.write.reset();
        }
        std::pair<UniqueFd*, std::string*> streams[2] = {{&out.read, &result.out},
                                                         {&err.read, &result.err}};
        for (int i = 0; i < 2; ++i) {
            if (entries[i].revents == 0) continue;
            char buffer[65536];
            ssize_t n = read(streams[i].first->get(), buffer, sizeof buffer);
            if (n > 0)
                streams[i].second->append(buffer, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EAGAIN)
                streams[i].first->reset();
        }
    }
    if (result.timedOut) {
        result.status = child.kill();
    } else {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto status = child.waitFor(std::max(left, std::chrono::milliseconds(0)));
        result.timedOut = !status;
        result.status = status ? *status : child.kill();
    }
    return result;
}

std::string quoteCommand(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& arg : argv) {
        if (!line.empty()) line += ' ';
        bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$*?") == std::string::npos;
        if (plain) {
            line += arg;
        } else {
            line += '\'';
            for (char c : arg) line += (c == '\'') ? std::string("'\\''") : std::string(1, c);
            line += '\'';
        }
    }
    if (line.size() > 400) line = line.substr(0, 400) + "...";
    return line;
}

}  // namespace etmem::test
