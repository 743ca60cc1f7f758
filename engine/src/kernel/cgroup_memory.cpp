// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/cgroup_memory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "etmem/kernel/files.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::kernel {
namespace {

std::optional<std::uint64_t> parseUnsigned(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end == text.data()) return std::nullopt;
    return value;
}

// The value of "key=value" among blank-separated fields.
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t end = std::min(text.find(' ', at), text.size());
        const std::string_view word = text.substr(at, end - at);
        if (word.size() > key.size() && word.substr(0, key.size()) == key &&
            word[key.size()] == '=')
            return word.substr(key.size() + 1);
        at = end + 1;
    }
    return std::nullopt;
}

}  // namespace

std::filesystem::path cgroupRoot(const KernelPaths& paths) {
    return paths.sys / "fs/cgroup";
}

std::string cgroupReclaimProblem(const KernelPaths& paths) {
    const auto root = cgroupRoot(paths);
    std::error_code error;
    if (std::filesystem::exists(root / "cgroup.controllers", error)) {
        if (!std::filesystem::exists(root / "memory.reclaim", error) &&
            std::filesystem::exists(root / "memory.pressure", error))
            return "this kernel's cgroup v2 has no memory.reclaim (Linux 5.19 or later needed)";
        return "";
    }
    if (std::filesystem::exists(root / "memory", error))
        return fmt::format(
            "this host mounts only cgroup v1 at {} (etmem 1.1's psi=1 psi_v1=1 setup); the psi "
            "engine needs the unified cgroup v2 hierarchy (boot with "
            "systemd.unified_cgroup_hierarchy=1)",
            root.string());
    return fmt::format("no cgroup v2 hierarchy is mounted at {}", root.string());
}

std::optional<StallReading> parseStall(std::string_view text) {
    if (text.substr(0, 5) != "some ") return std::nullopt;
    const auto avg10 = field(text, "avg10");
    const auto total = field(text, "total");
    if (!avg10 || !total) return std::nullopt;
    StallReading reading;
    const auto [end, error] =
        std::from_chars(avg10->data(), avg10->data() + avg10->size(), reading.someAvg10);
    const auto totalUs = parseUnsigned(*total);
    if (error != std::errc{} || !totalUs) return std::nullopt;
    reading.someTotalUs = *totalUs;
    return reading;
}

std::optional<StallReading> readMemoryPressure(const std::filesystem::path& cgroup) {
    return parseStall(readFirstLine(cgroup / "memory.pressure"));
}

std::optional<std::uint64_t> readMemoryCurrent(const std::filesystem::path& cgroup) {
    return parseUnsigned(readFirstLine(cgroup / "memory.current"));
}

std::optional<std::uint64_t> readMemoryMax(const std::filesystem::path& cgroup) {
    return parseUnsigned(readFirstLine(cgroup / "memory.max"));
}

ReclaimOutcome writeMemoryReclaim(const std::filesystem::path& cgroup, std::uint64_t bytes) {
    const auto file = cgroup / "memory.reclaim";
    const std::string text = std::to_string(bytes);
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd)
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("opening {}", file.string()));
    ssize_t wrote;
    do {
        wrote = ::write(fd.get(), text.data(), text.size());
    } while (wrote < 0 && errno == EINTR);
    if (wrote < 0 && errno == EAGAIN) return ReclaimOutcome::Short;
    if (wrote != static_cast<ssize_t>(text.size()))
        throw std::system_error(wrote < 0 ? errno : EIO, std::generic_category(),
                                fmt::format("writing '{}' to {}", text, file.string()));
    return ReclaimOutcome::Done;
}

std::vector<std::string> expandCgroupPattern(const std::filesystem::path& root,
                                             std::string_view pattern) {
    std::vector<std::string> cgroups;
    std::error_code error;
    if (pattern != "*" && !(pattern.size() > 2 && pattern.substr(pattern.size() - 2) == "/*")) {
        if (std::filesystem::is_directory(root / pattern, error)) cgroups.emplace_back(pattern);
        return cgroups;
    }
    const std::string_view parent =
        pattern.substr(0, pattern.size() - std::min<std::size_t>(2, pattern.size()));
    for (const auto& entry : std::filesystem::directory_iterator(root / parent, error)) {
        if (!entry.is_directory(error)) continue;
        const std::string name = entry.path().filename().string();
        cgroups.push_back(parent.empty() ? name : fmt::format("{}/{}", parent, name));
    }
    std::sort(cgroups.begin(), cgroups.end());
    return cgroups;
}

std::optional<std::string> cgroupOfPid(const KernelPaths& paths, pid_t pid) {
    std::ifstream file(paths.proc / std::to_string(pid) / "cgroup");
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind("0::/", 0) == 0) return line.substr(4);
    }
    return std::nullopt;
}

}  // namespace etmem::kernel
