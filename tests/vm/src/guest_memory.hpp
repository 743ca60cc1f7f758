// SPDX-License-Identifier: MulanPSL-2.0
// Small helpers shared by the guest-side probe and the guest tests: /proc and pagemap reading,
// pidfd/process_madvise wrappers. Header-only so the VM tier depends on nothing but the kernel.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "etmem/unique_fd.hpp"

namespace etmem::vm {

inline constexpr std::uint64_t kPagemapPresent = 1ULL << 63;
inline constexpr std::uint64_t kPagemapSwapped = 1ULL << 62;
inline constexpr std::uint64_t kPagemapSoftDirty = 1ULL << 55;
inline constexpr std::uint64_t kPagemapPfnMask = (1ULL << 55) - 1;

inline std::size_t pageSize() {
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

inline std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline bool writeFile(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
}

// A "Name:   123 kB" line of /proc/PID/status, in kB.
inline std::optional<long> statusKb(pid_t pid, const std::string& field) {
    std::istringstream status(readFile("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    }
    return std::nullopt;
}

// Mapped anonymous memory, unmapped on destruction.
class Mapping {
  public:
    explicit Mapping(std::size_t length)
        : length_(length),
          address_(::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                          0)) {}
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (valid()) ::munmap(address_, length_);
    }
    bool valid() const { return address_ != MAP_FAILED; }
    unsigned char* bytes() const { return static_cast<unsigned char*>(address_); }
    std::size_t length() const { return length_; }

  private:
    std::size_t length_;
    void* address_;
};

// pagemap entries of [address, address + pages pages) of a process.
class Pagemap {
  public:
    explicit Pagemap(pid_t pid)
        : fd_(::open(("/proc/" + std::to_string(pid) + "/pagemap").c_str(), O_RDONLY | O_CLOEXEC)) {
    }
    bool valid() const { return fd_.valid(); }
    std::optional<std::uint64_t> entry(const void* address) const {
        std::uint64_t value = 0;
        auto offset = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(address) / pageSize() *
                                         sizeof value);
        if (::pread(fd_.get(), &value, sizeof value, offset) != sizeof value) return std::nullopt;
        return value;
    }

  private:
    UniqueFd fd_;
};

inline UniqueFd pidfdOpen(pid_t pid) {
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

// process_madvise(2) over one range; returns bytes advised or -1 with errno set.
inline long processMadvise(int pidfd, void* address, std::size_t length, int advice) {
    iovec range{address, length};
    return ::syscall(SYS_process_madvise, pidfd, &range, 1, advice, 0);
}

// Runs a shell command and returns its standard output (trailing newline removed) and status.
struct CommandResult {
    int status = -1;
    std::string output;
};
inline CommandResult runCommand(const std::string& command) {
    CommandResult result;
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) return result;
    char buffer[512];
    std::size_t count = 0;
    while ((count = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) {
        result.output.append(buffer, count);
    }
    result.status = ::pclose(pipe.release());
    while (!result.output.empty() && result.output.back() == '\n') result.output.pop_back();
    return result;
}

}  // namespace etmem::vm
