// SPDX-License-Identifier: MulanPSL-2.0
#include "polkit_agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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

// Whether polkitd finds a login session for this process, looked up as polkitd does
// (polkitbackendsessionmonitor-systemd.c): the process's own logind session, else its
// user's graphical one.
bool inLoginSession() {
    char* session = nullptr;
    if (sd_pid_get_session(0, &session) >= 0) {
        std::free(session);
        return true;
    }
    uid_t uid = 0;
    if (sd_pid_get_owner_uid(0, &uid) < 0 || sd_uid_get_display(uid, &session) < 0) return false;
    std::free(session);
    return true;
}

// pkttyagent's command line. The agent answers for this process (etmem): etmemd checks
// etmem's bus name, and polkitd looks first for an agent registered for that name's
// process. The pid alone is safe (pkttyagent reads its start time from /proc): etmem
// outlives the agent, so the pid is not reused meanwhile. --fallback, as systemctl passes
// it, leaves a desktop's agent in charge, but only in a login session: polkitd sets a
// fallback agent aside and returns to it after looking up the subject's session, and with
// no session it gives up there and asks no agent (get_authentication_agent_for_subject in
// polkit 122 and since), so without logind (containers, shells outside logind's sessions) the
// prompt needs an agent registered without it.
std::vector<std::string> ttyAgentCommandLine(int notifyFd) {
    std::vector<std::string> args{kTtyAgentPath, "--notify-fd", std::to_string(notifyFd),
                                  "--process", std::to_string(::getpid())};
    if (inLoginSession()) args.emplace_back("--fallback");
    return args;
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
    auto args = ttyAgentCommandLine(kNotifyFd);
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
