// SPDX-License-Identifier: MulanPSL-2.0
// Types cgroup and unit: every process of a cgroup and its descendants, from cgroup.procs,
// held by pidfd; a unit that is not running is a note, not an error. The hierarchy is a
// directory laid out as cgroup2's (the host runs cgroup v1; the VM test uses real cgroups),
// holding real processes this test starts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "etmem/process.hpp"

namespace etmem {
namespace {

class SleepingChild {
  public:
    SleepingChild() {
        pid_ = ::fork();
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (;;) ::pause();
        }
    }
    ~SleepingChild() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_;
};

class FakeHierarchy {
  public:
    FakeHierarchy() {
        root_ = std::filesystem::temp_directory_path() /
                ("etmem-cgroup-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(root_);
    }
    ~FakeHierarchy() { std::filesystem::remove_all(root_); }
    void put(const std::string& cgroup, std::vector<pid_t> pids) {
        std::filesystem::create_directories(root_ / cgroup);
        std::ofstream procs(root_ / cgroup / "cgroup.procs");
        for (pid_t pid : pids) procs << pid << "\n";
    }
    const std::filesystem::path& root() const { return root_; }

  private:
    std::filesystem::path root_;
};

class FixedUnits final : public UnitCgroupLookup {
  public:
    UnitCgroup answer;
    std::vector<std::string> asked;
    UnitCgroup cgroupOf(const std::string& unit) override {
        asked.push_back(unit);
        return answer;
    }
};

std::vector<pid_t> sortedPids(const Resolution& resolution) {
    std::vector<pid_t> pids;
    for (const auto& target : resolution.targets) pids.push_back(target.pid);
    std::sort(pids.begin(), pids.end());
    return pids;
}

TaskConfig task(TaskType type, std::string value) {
    TaskConfig config;
    config.type = type;
    config.value = std::move(value);
    return config;
}

TEST(CgroupTargets, EveryProcessOfTheCgroupAndItsDescendantsHeldByPidfd) {
    SleepingChild a, b, c, outside;
    FakeHierarchy cgroups;
    cgroups.put("system.slice/w.service", {a.pid()});
    cgroups.put("system.slice/w.service/sub", {b.pid(), c.pid()});
    cgroups.put("system.slice/other.service", {outside.pid()});
    ResolveEnvironment environment{"/proc", cgroups.root(), nullptr};

    Resolution resolution =
        resolveTask(task(TaskType::Cgroup, "system.slice/w.service"), environment);
    std::vector<pid_t> expected = {a.pid(), b.pid(), c.pid()};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(sortedPids(resolution), expected);
    EXPECT_EQ(resolution.cgroup, "system.slice/w.service");
    EXPECT_EQ(resolution.note, "");
    for (const auto& target : resolution.targets) {
        EXPECT_TRUE(target.alive());
        EXPECT_EQ(target.cgroup, "system.slice/w.service");
    }
}

TEST(CgroupTargets, ExitedAndMissingAreNotesNotErrors) {
    FakeHierarchy cgroups;
    pid_t gone;
    {
        SleepingChild child;
        gone = child.pid();
    }
    cgroups.put("empty", {gone});
    ResolveEnvironment environment{"/proc", cgroups.root(), nullptr};
    Resolution empty = resolveTask(task(TaskType::Cgroup, "empty"), environment);
    EXPECT_TRUE(empty.targets.empty());
    EXPECT_EQ(empty.note, "cgroup empty holds no process");
    Resolution missing = resolveTask(task(TaskType::Cgroup, "nope"), environment);
    EXPECT_EQ(missing.note, "cgroup nope does not exist");
}

TEST(UnitTargets, ResolvedThroughTheLookupEveryCall) {
    SleepingChild a;
    FakeHierarchy cgroups;
    cgroups.put("system.slice/w.service", {a.pid()});
    auto units = std::make_shared<FixedUnits>();
    ResolveEnvironment environment{"/proc", cgroups.root(), units};

    units->answer = {"", "not loaded"};
    Resolution stopped = resolveTask(task(TaskType::Unit, "w.service"), environment);
    EXPECT_TRUE(stopped.targets.empty());
    EXPECT_EQ(stopped.note, "unit w.service is not loaded");

    units->answer = {"/system.slice/w.service", ""};
    Resolution running = resolveTask(task(TaskType::Unit, "w.service"), environment);
    EXPECT_EQ(sortedPids(running), std::vector<pid_t>{a.pid()});
    EXPECT_EQ(running.cgroup, "system.slice/w.service");
    EXPECT_EQ(running.note, "");
    EXPECT_EQ(units->asked, (std::vector<std::string>{"w.service", "w.service"}));

    ResolveEnvironment noSystemd{"/proc", cgroups.root(), nullptr};
    EXPECT_NE(
        resolveTask(task(TaskType::Unit, "w.service"), noSystemd).note.find("cannot be asked"),
        std::string::npos);
}

}  // namespace
}  // namespace etmem
