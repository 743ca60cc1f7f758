#include "polkit_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "etmem/unique_fd.hpp"

extern char** environ;

namespace etmem::cli {
namespace {

// pkttyagent registers in milliseconds; past this etmem goes on without it.
constexpr int kRegisterTimeoutMs = 10'000;

// Waits until the agent closes its end of the pipe (registered) or exits.
void waitForRegistration(int readFd) {
    pollfd entry{readFd, POLLIN, 0};
    for (;;) {
        int rc = ::poll(&entry, 1, kRegisterTimeoutMs);
        if (rc < 0 && errno == EINTR) continue;
        return;  // readable (EOF: closed) or timed out: either way, go on
    }
}

}  // namespace

PolkitAgent::PolkitAgent() {
    if (::access(kTtyAgentPath, X_OK) != 0) return;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    // The agent's copy of the write end is fd 3, without O_CLOEXEC.
    constexpr int kNotifyFd = 3;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), kNotifyFd);
    std::vector<std::string> args{kTtyAgentPath, "--notify-fd", std::to_string(kNotifyFd),
                                  "--fallback"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, kTtyAgentPath, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return;
    pid_ = pid;
    writeEnd.reset();
    waitForRegistration(readEnd.get());
}

PolkitAgent::~PolkitAgent() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

bool mayAskPassword(bool askPasswordOption) {
    return askPasswordOption && ::isatty(STDIN_FILENO) == 1;
}

}  // namespace etmem::cli
