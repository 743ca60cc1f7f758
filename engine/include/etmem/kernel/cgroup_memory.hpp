// SPDX-License-Identifier: MulanPSL-2.0
// A cgroup v2's memory files: memory.pressure, memory.current, memory.max and memory.reclaim.
//
// Paths are under KernelPaths::sys ("/sys/fs/cgroup"), so tests give a fake tree of plain files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/kernel/paths.hpp"

namespace etmem::kernel {

// Where the cgroup2 hierarchy is mounted: <sys>/fs/cgroup.
std::filesystem::path cgroupRoot(const KernelPaths& paths);

// "" when the host mounts cgroup v2 at cgroupRoot with memory.reclaim (Linux 5.19+);
// otherwise why not, as a sentence (a host with only cgroup v1, an older kernel).
std::string cgroupReclaimProblem(const KernelPaths& paths);

// The line "some avg10=0.12 avg60=... avg300=... total=12345" of memory.pressure.
struct StallReading {
    double someAvg10 = 0;           // percent
    std::uint64_t someTotalUs = 0;  // microseconds stalled since the cgroup was made
};
std::optional<StallReading> parseStall(std::string_view text);

// nullopt when the file cannot be read (the cgroup is gone, PSI is off).
std::optional<StallReading> readMemoryPressure(const std::filesystem::path& cgroup);
std::optional<std::uint64_t> readMemoryCurrent(const std::filesystem::path& cgroup);
// memory.max: the limit, or nullopt when it is "max" or unreadable.
std::optional<std::uint64_t> readMemoryMax(const std::filesystem::path& cgroup);

enum class ReclaimOutcome {
    Done,   // the kernel reclaimed (at least) what was asked
    Short,  // EAGAIN: it could not find that much to reclaim
};
// Writes `bytes` to memory.reclaim. The kernel does the reclaim inside the write, so a
// caller that must return promptly asks for small amounts. Throws std::system_error for
// every failure but EAGAIN (the cgroup is gone, no permission, no memory.reclaim).
ReclaimOutcome writeMemoryReclaim(const std::filesystem::path& cgroup, std::uint64_t bytes);

// The cgroups a pattern names, relative to root: the path itself, or with a last component
// "*" (etmem 1.1's cg_dir=parent/*) every child cgroup of parent, sorted. Missing: none.
std::vector<std::string> expandCgroupPattern(const std::filesystem::path& root,
                                             std::string_view pattern);

// The cgroup v2 path of a process (/proc/<pid>/cgroup's "0::" line, without the leading
// '/'); nullopt when the process is gone or in no cgroup v2.
std::optional<std::string> cgroupOfPid(const KernelPaths& paths, pid_t pid);

}  // namespace etmem::kernel
