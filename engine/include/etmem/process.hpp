// Target processes: resolution of a task to the current pids, held by pidfd.
#pragma once

#include <sys/types.h>

#include <filesystem>
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

    // Whether the process the pidfd refers to still runs.
    bool alive() const;
};

// Resolves a task to its targets: the pid (type pid) or every process whose comm equals the
// value (type name), plus all their descendants. Processes that vanish while resolving are
// skipped. procRoot is /proc except in tests.
std::vector<Target> resolveTargets(const TaskConfig& task,
                                   const std::filesystem::path& procRoot = "/proc");

}  // namespace etmem
