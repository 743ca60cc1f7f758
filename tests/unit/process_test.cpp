// SPDX-License-Identifier: MulanPSL-2.0
// Target resolution against real processes this test starts.
#include "etmem/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace etmem {
namespace {

// A child named `name` that optionally forks a grandchild, then sleeps until killed.
class NamedChild {
  public:
    NamedChild(const char* name, bool withGrandchild) {
        int ready[2];
        EXPECT_EQ(::pipe(ready), 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::prctl(PR_SET_NAME, name);
            if (withGrandchild && ::fork() == 0) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                ::prctl(PR_SET_NAME, "etm-grandchild");
                for (;;) ::pause();
            }
            ::close(ready[0]);
            (void)!::write(ready[1], "x", 1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char c;
        (void)!::read(ready[0], &c, 1);
        ::close(ready[0]);
        // Give the grandchild time to be forked and named.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ~NamedChild() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

std::vector<pid_t> pidsOf(const std::vector<Target>& targets) {
    std::vector<pid_t> pids;
    for (const auto& target : targets) pids.push_back(target.pid);
    return pids;
}

TaskConfig task(TaskType type, std::string value) {
    TaskConfig config;
    config.type = type;
    config.value = std::move(value);
    return config;
}

TEST(ResolveTargets, PidTaskTakesThePidAndItsDescendants) {
    NamedChild child("etm-pidtest", true);
    auto targets = resolveTargets(task(TaskType::Pid, std::to_string(child.pid())));
    ASSERT_EQ(targets.size(), 2u);
    EXPECT_EQ(targets[0].pid, child.pid());
    EXPECT_EQ(targets[0].comm, "etm-pidtest");
    EXPECT_EQ(targets[1].comm, "etm-grandchild");
    for (const auto& target : targets) EXPECT_TRUE(target.alive());
}

TEST(ResolveTargets, NameTaskTakesEveryProcessWithThatComm) {
    NamedChild a("etm-nametest", false), b("etm-nametest", true), other("etm-other", false);
    auto pids = pidsOf(resolveTargets(task(TaskType::Name, "etm-nametest")));
    EXPECT_EQ(pids.size(), 3u);  // a, b and b's child
    EXPECT_NE(std::find(pids.begin(), pids.end(), a.pid()), pids.end());
    EXPECT_NE(std::find(pids.begin(), pids.end(), b.pid()), pids.end());
    EXPECT_EQ(std::find(pids.begin(), pids.end(), other.pid()), pids.end());
}

TEST(ResolveTargets, NoMatchGivesNoTargets) {
    EXPECT_TRUE(resolveTargets(task(TaskType::Name, "etm-nosuchproc")).empty());
    EXPECT_TRUE(resolveTargets(task(TaskType::Pid, "999999999")).empty());
}

// The process running the engine is never its own target: neither by pid, nor by name,
// nor as a descendant (here of our own pid: the child still is a target).
TEST(ResolveTargets, TheEnginesOwnProcessIsNeverATarget) {
    NamedChild child("etm-child", false);
    EXPECT_EQ(pidsOf(resolveTargets(task(TaskType::Pid, std::to_string(::getpid())))),
              std::vector<pid_t>{child.pid()});
    char comm[16] = {};
    ::prctl(PR_GET_NAME, comm);
    for (pid_t pid : pidsOf(resolveTargets(task(TaskType::Name, comm)))) EXPECT_NE(pid, ::getpid());
}

TEST(ResolveTargets, PidfdTellsWhenTheTargetExits) {
    auto child = std::make_unique<NamedChild>("etm-exiting", false);
    auto targets = resolveTargets(task(TaskType::Pid, std::to_string(child->pid())));
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_TRUE(targets[0].alive());
    child.reset();  // killed and reaped
    EXPECT_FALSE(targets[0].alive());
}

}  // namespace
}  // namespace etmem
