// SPDX-License-Identifier: MulanPSL-2.0
// Target processes: resolution of a task to the current pids, held by pidfd.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "etmem/config.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem {

// A target process held by a pidfd, so that a pid reused after the target exits is never
// scanned or swapped by mistake.
struct Target {
    pid_t pid = 0;
    UniqueFd pidfd;
    std::string comm;
    // The cgroup the task resolved to (types unit and cgroup), relative to the cgroup2
    // mount; "" for pid and name targets. Pacing reads its memory.pressure.
    std::string cgroup;

    // Whether the process the pidfd refers to still runs.
    bool alive() const;
};

// Resolves a task to its targets: the pid (type pid) or every process whose comm equals the
// value (type name), plus all their descendants. Processes that vanish while resolving are
// skipped. procRoot is /proc except in tests.
std::vector<Target> resolveTargets(const TaskConfig& task,
                                   const std::filesystem::path& procRoot = "/proc");

// Where a systemd unit's processes are: its ControlGroup, or why it has none. The service
// implements it by asking systemd on the system bus; the engine knows no D-Bus.
struct UnitCgroup {
    std::string cgroup;  // e.g. "/system.slice/foo.service"; "" when the unit has none
    std::string why;     // when cgroup is "": "not loaded", "inactive (dead)", ...
};
class UnitCgroupLookup {
  public:
    virtual ~UnitCgroupLookup() = default;
    // Called from task worker threads, concurrently. Throws std::runtime_error when systemd
    // cannot be asked (the message says why).
    virtual UnitCgroup cgroupOf(const std::string& unit) = 0;
};

struct ResolveEnvironment {
    std::filesystem::path procRoot = "/proc";
    std::filesystem::path cgroupRoot = "/sys/fs/cgroup";
    std::shared_ptr<UnitCgroupLookup> units;  // null: type unit cannot be resolved
};

// A task resolved for one cycle.
struct Resolution {
    std::vector<Target> targets;
    std::string cgroup;  // types unit and cgroup: the cgroup, relative to cgroupRoot
    std::string note;    // why there are no targets when that is worth saying ("" else)
};

// resolveTargets for every task type. unit and cgroup: every process in the cgroup and its
// descendant cgroups (cgroup.procs), re-read every cycle; a unit that is not running gives
// no targets and a note, not an error.
Resolution resolveTask(const TaskConfig& task, const ResolveEnvironment& environment);

// Whether another process (a client asking for a project) sees pids and cgroup paths as
// etmemd does: only then does a task's pid or cgroup path name what the client meant.
struct NamespaceView {
    bool samePid = true;
    bool sameCgroup = true;
    std::string unknown;  // why the process's namespaces could not be read ("" normally)
};

// The namespaces of process `pid` against etmemd's own; never throws (a process that cannot
// be looked at shares none, and `unknown` says why).
NamespaceView namespacesOf(pid_t pid, const std::filesystem::path& procRoot = "/proc");

// Why `tasks` cannot be taken from a client in `view`'s namespaces: a pid task from another
// pid namespace, a cgroup task from another cgroup namespace; "" when they can.
std::string namespaceProblem(const std::vector<TaskConfig>& tasks, const NamespaceView& view);

}  // namespace etmem
