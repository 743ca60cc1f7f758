// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/process.hpp"

#include "etmem/project_runner.hpp"  // describeTask

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace etmem {
namespace {

// What /proc/PID/stat says of a process that identifies it across pid reuse.
struct ProcStat {
    pid_t pid = 0;
    pid_t ppid = 0;
    std::string comm;
    unsigned long long startTime = 0;  // clock ticks since boot
};

std::optional<pid_t> parsePid(std::string_view text) {
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
    return pid;
}

// Why a process could not be looked at, when it is not that it has exited: etmemd is out of
// descriptors (EMFILE, ENFILE) or memory. Taking that for "exited" would silently leave
// targets alone, so it fails the cycle with a reason an operator can act on.
[[noreturn]] void throwResourceError(int error, const std::string& what) {
    std::string message = fmt::format("{}: {}", what, std::strerror(error));
    if (error == EMFILE || error == ENFILE)
        message +=
            "; etmemd holds a descriptor for each target process: raise LimitNOFILE= of "
            "etmemd.service above the number of processes its projects target";
    throw std::runtime_error(message);
}

// Whether a failed open of /proc/PID/... or pidfd_open(PID) means that the process is gone.
bool processGone(int error) {
    return error == ENOENT || error == ESRCH || error == EINVAL;
}

// The first line of a file of /proc/PID; nullopt when the process is gone.
std::optional<std::string> readProcLine(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (processGone(errno)) return std::nullopt;
        throwResourceError(errno, fmt::format("cannot read {}", path.string()));
    }
    std::string text;
    char buffer[1024];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return std::nullopt;  // ESRCH: it exited while read
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.find('\n') != std::string::npos) break;
    }
    if (auto end = text.find('\n'); end != std::string::npos) text.resize(end);
    return text;
}

// comm may contain spaces and parentheses, so it is everything between the first '(' and
// the last ')'.
std::optional<ProcStat> readStat(const std::filesystem::path& procRoot, pid_t pid) {
    auto read = readProcLine(procRoot / std::to_string(pid) / "stat");
    if (!read || read->empty()) return std::nullopt;
    const std::string& line = *read;
    auto open = line.find('(');
    auto close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return std::nullopt;
    ProcStat stat;
    stat.pid = pid;
    stat.comm = line.substr(open + 1, close - open - 1);
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    // Fields after comm: state(3) ppid(4) ... starttime(22).
    for (int index = 3; index <= 22 && rest >> field; ++index) {
        if (index == 4) stat.ppid = static_cast<pid_t>(std::stol(field));
        if (index == 22) stat.startTime = std::stoull(field);
    }
    return stat;
}

std::vector<ProcStat> listProcesses(const std::filesystem::path& procRoot) {
    std::vector<ProcStat> processes;
    std::error_code ec;
    std::filesystem::directory_iterator it(procRoot, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        auto pid = parsePid(it->path().filename().native());
        if (!pid) continue;
        if (auto stat = readStat(procRoot, *pid)) processes.push_back(std::move(*stat));
    }
    if (ec) throwResourceError(ec.value(), fmt::format("cannot list {}", procRoot.string()));
    return processes;
}

// Roots of the task, then every descendant of a root (breadth first), each once.
std::vector<const ProcStat*> selectTargets(const TaskConfig& task,
                                           const std::vector<ProcStat>& processes) {
    std::multimap<pid_t, const ProcStat*> children;
    for (const auto& process : processes) children.emplace(process.ppid, &process);

    std::vector<const ProcStat*> selected;
    for (const auto& process : processes) {
        bool root = task.type == TaskType::Pid ? std::to_string(process.pid) == task.value
                                               : process.comm == task.value;
        if (root) selected.push_back(&process);
    }
    std::set<pid_t> seen;
    for (const auto* process : selected) seen.insert(process->pid);
    for (std::size_t i = 0; i < selected.size(); ++i) {
        auto [begin, end] = children.equal_range(selected[i]->pid);
        for (auto it = begin; it != end; ++it) {
            if (seen.insert(it->second->pid).second) selected.push_back(it->second);
        }
    }
    // The process running the engine is never a target, not even as a descendant of one
    // (pid 1's): swapping out the scanner's own memory would only slow every cycle down.
    std::erase_if(selected, [self = ::getpid()](const ProcStat* p) { return p->pid == self; });
    return selected;
}

UniqueFd openPidfd(pid_t pid) {
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

}  // namespace

bool Target::alive() const {
    if (!pidfd) return false;
    // A pidfd becomes readable once its process has exited.
    pollfd pfd{pidfd.get(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
}

namespace {

// Opens a pidfd for each selected process, keeping only those still the same process.
std::vector<Target> holdTargets(const std::vector<const ProcStat*>& selected,
                                const std::filesystem::path& procRoot) {
    std::vector<Target> targets;
    for (const auto* process : selected) {
        Target target;
        target.pid = process->pid;
        target.comm = process->comm;
        target.pidfd = openPidfd(process->pid);
        if (!target.pidfd) {
            if (processGone(errno)) continue;  // exited meanwhile
            throwResourceError(errno, fmt::format("cannot hold process {} ({} of the {} this "
                                                  "task targets are held)",
                                                  process->pid, targets.size(), selected.size()));
        }
        // The pid may have been reused between reading /proc and opening the pidfd: the
        // pidfd is only ours if the process still has the start time we selected.
        auto now = readStat(procRoot, process->pid);
        if (!now || now->startTime != process->startTime) continue;
        targets.push_back(std::move(target));
    }
    return targets;
}

// Every pid in cgroup.procs of `directory` and of the cgroups below it.
std::vector<pid_t> cgroupPids(const std::filesystem::path& directory) {
    std::vector<pid_t> pids;
    auto readProcs = [&](const std::filesystem::path& cgroup) {
        errno = 0;
        std::ifstream procs(cgroup / "cgroup.procs");
        // A cgroup removed meanwhile is gone; running out of descriptors is not that.
        if (!procs && errno != 0 && !processGone(errno) && errno != ENODEV)
            throwResourceError(errno,
                               fmt::format("cannot read {}", (cgroup / "cgroup.procs").string()));
        std::string line;
        while (std::getline(procs, line))
            if (auto pid = parsePid(line)) pids.push_back(*pid);
    };
    readProcs(directory);
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(directory, ec), end; !ec && it != end;
         it.increment(ec)) {
        if (it->is_directory(ec) && !it->is_symlink(ec)) readProcs(it->path());
    }
    return pids;
}

Resolution resolveCgroup(const std::string& cgroup, const ResolveEnvironment& environment) {
    Resolution resolution;
    resolution.cgroup = cgroup;
    const auto directory = environment.cgroupRoot / cgroup;
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec)) {
        resolution.note = fmt::format("cgroup {} does not exist", cgroup);
        return resolution;
    }
    std::vector<ProcStat> processes;
    for (pid_t pid : cgroupPids(directory))
        if (auto stat = readStat(environment.procRoot, pid)) processes.push_back(std::move(*stat));
    std::vector<const ProcStat*> selected;
    for (const auto& process : processes) selected.push_back(&process);
    resolution.targets = holdTargets(selected, environment.procRoot);
    for (auto& target : resolution.targets) target.cgroup = cgroup;
    if (resolution.targets.empty())
        resolution.note = fmt::format("cgroup {} holds no process", cgroup);
    return resolution;
}

Resolution resolveUnit(const std::string& unit, const ResolveEnvironment& environment) {
    if (!environment.units) {
        Resolution none;
        none.note = fmt::format("unit {}: systemd cannot be asked here", unit);
        return none;
    }
    UnitCgroup where = environment.units->cgroupOf(unit);
    if (where.cgroup.empty()) {
        Resolution none;
        none.note =
            fmt::format("unit {} is {}", unit, where.why.empty() ? "not running" : where.why);
        return none;
    }
    std::string relative = where.cgroup;
    relative.erase(0, relative.find_first_not_of('/'));
    Resolution resolution = resolveCgroup(relative, environment);
    if (resolution.targets.empty()) resolution.note = fmt::format("unit {} has no process", unit);
    return resolution;
}

}  // namespace

std::vector<Target> resolveTargets(const TaskConfig& task, const std::filesystem::path& procRoot) {
    auto processes = listProcesses(procRoot);
    return holdTargets(selectTargets(task, processes), procRoot);
}

Resolution resolveTask(const TaskConfig& task, const ResolveEnvironment& environment) {
    switch (task.type) {
        case TaskType::Unit:
            return resolveUnit(task.value, environment);
        case TaskType::Cgroup:
            return resolveCgroup(task.value, environment);
        case TaskType::Pid:
        case TaskType::Name:
            break;
    }
    Resolution resolution;
    resolution.targets = resolveTargets(task, environment.procRoot);
    return resolution;
}

namespace {

// A namespace's identity: the device and inode of its /proc/PID/ns/ file.
std::optional<std::pair<dev_t, ino_t>> namespaceId(const std::filesystem::path& file) {
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) return std::nullopt;
    return std::pair{info.st_dev, info.st_ino};
}

}  // namespace

NamespaceView namespacesOf(pid_t pid, const std::filesystem::path& procRoot) {
    NamespaceView view;
    // The pidfd pins the process: if it still runs after /proc/PID was read, the pid was not
    // reused by another process meanwhile.
    Target caller;
    caller.pid = pid;
    caller.pidfd = openPidfd(pid);
    const auto dir = procRoot / std::to_string(pid) / "ns";
    const auto pidNs = namespaceId(dir / "pid"), cgroupNs = namespaceId(dir / "cgroup");
    if (!pidNs || !cgroupNs || !caller.alive()) {
        view.samePid = view.sameCgroup = false;
        view.unknown = fmt::format("the namespaces of process {} cannot be read", pid);
        return view;
    }
    view.samePid = pidNs == namespaceId(procRoot / "self/ns/pid");
    view.sameCgroup = cgroupNs == namespaceId(procRoot / "self/ns/cgroup");
    return view;
}

std::string namespaceProblem(const std::vector<TaskConfig>& tasks, const NamespaceView& view) {
    const std::string unknown = view.unknown.empty() ? "" : fmt::format(" ({})", view.unknown);
    for (const auto& task : tasks) {
        if (task.type == TaskType::Pid && !view.samePid)
            return fmt::format(
                "task {} names a pid of the caller's pid namespace, which is not etmemd's{}: "
                "etmemd would take it for another process; run etmem in etmemd's pid "
                "namespace, or name the processes by type name, unit or cgroup",
                describeTask(task), unknown);
        if (task.type == TaskType::Cgroup && !view.sameCgroup)
            return fmt::format(
                "task {} names a path of the caller's cgroup namespace, which is not "
                "etmemd's{}: etmemd would read another cgroup; run etmem in etmemd's cgroup "
                "namespace, or give the unit (type unit)",
                describeTask(task), unknown);
    }
    return {};
}

}  // namespace etmem
