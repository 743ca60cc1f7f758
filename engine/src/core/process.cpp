#include "etmem/process.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
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

// comm may contain spaces and parentheses, so it is everything between the first '(' and
// the last ')'.
std::optional<ProcStat> readStat(const std::filesystem::path& procRoot, pid_t pid) {
    std::ifstream in(procRoot / std::to_string(pid) / "stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
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
    for (const auto& entry : std::filesystem::directory_iterator(procRoot, ec)) {
        auto pid = parsePid(entry.path().filename().native());
        if (!pid) continue;
        if (auto stat = readStat(procRoot, *pid)) processes.push_back(std::move(*stat));
    }
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

std::vector<Target> resolveTargets(const TaskConfig& task, const std::filesystem::path& procRoot) {
    auto processes = listProcesses(procRoot);
    std::vector<Target> targets;
    for (const auto* process : selectTargets(task, processes)) {
        Target target;
        target.pid = process->pid;
        target.comm = process->comm;
        target.pidfd = openPidfd(process->pid);
        if (!target.pidfd) continue;  // exited meanwhile
        // The pid may have been reused between reading /proc and opening the pidfd: the
        // pidfd is only ours if the process still has the start time we selected.
        auto now = readStat(procRoot, process->pid);
        if (!now || now->startTime != process->startTime) continue;
        targets.push_back(std::move(target));
    }
    return targets;
}

}  // namespace etmem
