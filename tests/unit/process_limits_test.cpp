// SPDX-License-Identifier: MulanPSL-2.0
// Target resolution when etmemd is short of descriptors, and which clients' pids and cgroup
// paths mean to etmemd what they mean to the client.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "etmem/process.hpp"

namespace etmem {
namespace {

// Children named `name`, sleeping until the object is destroyed.
class Children {
  public:
    Children(const char* name, int count) {
        for (int i = 0; i < count; ++i) {
            int ready[2];
            EXPECT_EQ(::pipe(ready), 0);
            const pid_t pid = ::fork();
            if (pid == 0) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                ::prctl(PR_SET_NAME, name);
                (void)!::write(ready[1], "x", 1);
                for (;;) ::pause();
            }
            ::close(ready[1]);
            char c;
            (void)!::read(ready[0], &c, 1);
            ::close(ready[0]);
            pids_.push_back(pid);
        }
    }
    ~Children() {
        for (pid_t pid : pids_) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }

  private:
    std::vector<pid_t> pids_;
};

// Leaves this process exactly `spare` free descriptors until destroyed.
class DescriptorsUsedUp {
  public:
    explicit DescriptorsUsedUp(int spare) {
        ::getrlimit(RLIMIT_NOFILE, &saved_);
        rlimit low = saved_;
        low.rlim_cur = static_cast<rlim_t>(highestOpenFd() + 1 + spare);
        ::setrlimit(RLIMIT_NOFILE, &low);
        for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler_.push_back(fd);
        for (int i = 0; i < spare && !filler_.empty(); ++i) {
            ::close(filler_.back());
            filler_.pop_back();
        }
    }
    ~DescriptorsUsedUp() {
        for (int fd : filler_) ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &saved_);
    }

  private:
    static int highestOpenFd() {
        int highest = 2;
        DIR* dir = ::opendir("/proc/self/fd");
        while (dirent* entry = ::readdir(dir))
            highest = std::max(highest, std::atoi(entry->d_name));
        ::closedir(dir);
        return highest;
    }
    rlimit saved_{};
    std::vector<int> filler_;
};

TaskConfig nameTask(const std::string& name) {
    TaskConfig task;
    task.type = TaskType::Name;
    task.value = name;
    return task;
}

TEST(ProcessLimits, TargetsAreFoundWhileDescriptorsLast) {
    // A name of its own: ctest runs the tests of this file side by side.
    Children children("etm-fdfound", 8);
    EXPECT_EQ(resolveTargets(nameTask("etm-fdfound")).size(), 8u);
}

// Out of descriptors is an error that says so, not eight targets taken for exited.
TEST(ProcessLimits, RunningOutOfDescriptorsIsAnErrorNotAnExit) {
    Children children("etm-fdtest", 8);
    std::string error;
    {
        DescriptorsUsedUp used(3);
        try {
            resolveTargets(nameTask("etm-fdtest"));
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
    }
    EXPECT_NE(error.find("Too many open files"), std::string::npos) << error;
    EXPECT_NE(error.find("LimitNOFILE="), std::string::npos) << error;
}

TEST(CallerNamespaces, OwnProcessSharesEveryNamespace) {
    const NamespaceView view = namespacesOf(::getpid());
    EXPECT_TRUE(view.samePid);
    EXPECT_TRUE(view.sameCgroup);
    EXPECT_EQ(view.unknown, "");
}

TEST(CallerNamespaces, AProcessThatIsGoneSharesNone) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    const NamespaceView view = namespacesOf(child);
    EXPECT_FALSE(view.samePid);
    EXPECT_FALSE(view.sameCgroup);
    EXPECT_NE(view.unknown, "");
}

// A process in a pid namespace of its own: its pids are not etmemd's.
TEST(CallerNamespaces, AnotherPidNamespaceIsSeen) {
    int channel[2];
    ASSERT_EQ(::pipe(channel), 0);
    const pid_t helper = ::fork();
    if (helper == 0) {
        // The helper stays in the test's namespace; its next child starts the new one.
        pid_t inside = -1;
        if (::unshare(CLONE_NEWPID) == 0) {
            inside = ::fork();
            if (inside == 0) {
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;) ::pause();
            }
        }
        (void)!::write(channel[1], &inside, sizeof inside);
        ::pause();
        ::_exit(0);
    }
    ::close(channel[1]);
    pid_t inside = -1;
    (void)!::read(channel[0], &inside, sizeof inside);
    ::close(channel[0]);
    NamespaceView view;
    if (inside > 0) view = namespacesOf(inside);
    // Killed by pid too: PR_SET_PDEATHSIG is set only once the child runs, and a helper killed
    // before that would leave it behind, holding ctest's output pipe open for ever.
    if (inside > 0) ::kill(inside, SIGKILL);
    ::kill(helper, SIGKILL);
    ::waitpid(helper, nullptr, 0);
    if (inside <= 0) GTEST_SKIP() << "cannot create a pid namespace here";
    EXPECT_FALSE(view.samePid);
    EXPECT_TRUE(view.sameCgroup);
    EXPECT_EQ(view.unknown, "");
}

TEST(CallerNamespaces, PidAndCgroupTasksAreRefusedAcrossNamespaces) {
    TaskConfig pid;
    pid.type = TaskType::Pid;
    pid.value = "1";
    TaskConfig cgroup;
    cgroup.type = TaskType::Cgroup;
    cgroup.value = "system.slice/x.service";
    const TaskConfig name = nameTask("x");

    EXPECT_EQ(namespaceProblem({pid, cgroup, name}, NamespaceView{}), "");
    const std::string pidProblem = namespaceProblem({name, pid}, NamespaceView{false, true, ""});
    EXPECT_NE(pidProblem.find("pid:1"), std::string::npos) << pidProblem;
    EXPECT_NE(pidProblem.find("pid namespace"), std::string::npos) << pidProblem;
    EXPECT_EQ(namespaceProblem({name, cgroup}, NamespaceView{false, true, ""}), "");
    const std::string cgroupProblem =
        namespaceProblem({name, pid, cgroup}, NamespaceView{true, false, ""});
    EXPECT_NE(cgroupProblem.find("cgroup namespace"), std::string::npos) << cgroupProblem;
}

}  // namespace
}  // namespace etmem
