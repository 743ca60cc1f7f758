// SPDX-License-Identifier: MulanPSL-2.0
// Pieces the tier benchmarks share: figures, the kernel's own tiering switched on for a run
// (demotion on reclaim, promotion on NUMA hint faults), a node filled to a chosen level, and
// the kernel's migration counters.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "guest_numa.hpp"
#include "proc_stats.hpp"

namespace etmem::bench::tiers {

// Figures: printed as they come, and kept for $ETMEM_VM_OUT.
class Figures {
  public:
    // file: where in $ETMEM_VM_OUT the lines are appended.
    explicit Figures(std::string file) : file_(std::move(file)) {}
    template <typename... Args>
    void add(fmt::format_string<Args...> format, Args&&... args) {
        std::string line = "FIGURE " + fmt::format(format, std::forward<Args>(args)...);
        std::puts(line.c_str());
        std::fflush(stdout);
        lines_ += line + "\n";
    }
    void save() const {
        const char* dir = std::getenv("ETMEM_VM_OUT");
        if (dir == nullptr) return;
        std::ofstream(std::filesystem::path(dir) / file_, std::ios::app) << lines_;
    }

  private:
    std::string file_;
    std::string lines_;
};

// A sysctl or sysfs value set for the bench's duration, and put back afterwards.
class ScopedSetting {
  public:
    ScopedSetting(std::filesystem::path path, const std::string& value)
        : path_(std::move(path)), saved_(readLine(path_)) {
        writeText(path_, value);
    }
    ScopedSetting(const ScopedSetting&) = delete;
    ScopedSetting& operator=(const ScopedSetting&) = delete;
    ~ScopedSetting() {
        // demotion_enabled reads "true"/"false" and takes either form.
        try {
            writeText(path_, saved_);
        } catch (const std::exception&) {
        }
    }

  private:
    std::filesystem::path path_;
    std::string saved_;
};

std::size_t nodeFreeKb(int node) {
    std::ifstream in(fmt::format("/sys/devices/system/node/node{}/meminfo", node));
    std::string line;
    while (std::getline(in, line)) {
        auto at = line.find("MemFree:");
        if (at != std::string::npos) return std::stoull(line.substr(at + 8));
    }
    return 0;
}

// A child holding `bytes` of mlocked memory bound to one node: it cannot be demoted or
// swapped, so it keeps that much of the node taken. Killed on destruction.
class NodeFiller {
  public:
    NodeFiller(int node, std::size_t bytes) {
        int ready[2];
        if (::pipe(ready) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::close(ready[0]);
            char result = fill(node, bytes) ? 1 : 0;
            if (::write(ready[1], &result, 1) != 1) ::_exit(1);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char result = 0;
        bool reported = ::read(ready[0], &result, 1) == 1;
        ::close(ready[0]);
        if (!reported || result != 1) throw std::runtime_error("the node filler failed");
    }
    NodeFiller(const NodeFiller&) = delete;
    NodeFiller& operator=(const NodeFiller&) = delete;
    ~NodeFiller() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

  private:
    static bool fill(int node, std::size_t bytes) {
        if (bytes == 0) return true;
        void* memory =
            ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) return false;
        constexpr int kBind = 2;  // MPOL_BIND
        unsigned long mask = 1UL << node;
        if (::syscall(SYS_mbind, memory, bytes, kBind, &mask, sizeof mask * 8 + 1, 0) != 0)
            return false;
        return ::mlock(memory, bytes) == 0;  // populates every page, on the node
    }
    pid_t pid_ = 0;
};

struct MigrationCounters {
    std::uint64_t demoted = 0, promoted = 0, numaMigrated = 0, hintFaults = 0;
    static MigrationCounters now() {
        using vm::vmstat;
        return {
            vmstat("pgdemote_kswapd") + vmstat("pgdemote_direct") + vmstat("pgdemote_khugepaged"),
            vmstat("pgpromote_success"), vmstat("numa_pages_migrated"), vmstat("numa_hint_faults")};
    }
    MigrationCounters since(const MigrationCounters& start) const {
        return {demoted - start.demoted, promoted - start.promoted,
                numaMigrated - start.numaMigrated, hintFaults - start.hintFaults};
    }
};

}  // namespace etmem::bench::tiers
