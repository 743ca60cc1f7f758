// SPDX-License-Identifier: MulanPSL-2.0
// Drives an etmem-workload process from a test or benchmark: launches it, reads the layout
// it writes (where its pages are, which are hot), stops it, and checks its pages against
// pagemap. Shared by the engine's VM tests and the slide benchmark; needs etmem-engine.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etmem/kernel/pagemap.hpp"
#include "etmem/process.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::test {

struct WorkloadOptions {
    std::string program = "etmem-workload";
    std::size_t hotPages = 0;
    std::size_t coldPages = 0;
    unsigned seed = 42;
    std::vector<std::string> extraArgs;
    // When set, the workload joins this cgroup before its first allocation, so every page
    // is charged to it.
    std::filesystem::path cgroup;
    // How long the workload may take to allocate and write its layout.
    std::chrono::milliseconds layoutTimeout{60'000};
};

// Fractions of the workload's cold and hot pages that pagemap shows swapped out.
struct SwappedFractions {
    double cold = 0;
    double hot = 0;
};

// A running etmem-workload (hot pages written, cold pages left alone) and its layout;
// killed on destruction if still running.
class WorkloadProcess {
  public:
    explicit WorkloadProcess(const WorkloadOptions& options) {
        layoutPath_ = std::filesystem::temp_directory_path() /
                      ("etmem-workload-layout-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter_++));
        std::filesystem::remove(layoutPath_);
        std::vector<std::string> args{options.program,
                                      "--hot",
                                      std::to_string(options.hotPages),
                                      "--cold",
                                      std::to_string(options.coldPages),
                                      "--seed",
                                      std::to_string(options.seed),
                                      "--hot-access",
                                      "write",
                                      "--layout",
                                      layoutPath_.string()};
        args.insert(args.end(), options.extraArgs.begin(), options.extraArgs.end());
        pid_ = ::fork();
        if (pid_ == 0) exec(args, options.cgroup);
        waitForLayout(options.layoutTimeout);
        readLayout();
    }
    WorkloadProcess(const WorkloadProcess&) = delete;
    WorkloadProcess& operator=(const WorkloadProcess&) = delete;
    ~WorkloadProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove(layoutPath_);
    }

    // SIGTERM, then the exit status (0: every checksum held).
    int stop() {
        ::kill(pid_, SIGTERM);
        return wait();
    }
    // The exit status once it exits on its own (0: every checksum held).
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    pid_t pid() const { return pid_; }
    bool isHot(std::size_t index) const { return hot_.contains(index); }
    std::size_t hotCount() const { return hot_.size(); }
    Target target() const {
        Target target;
        target.pid = pid_;
        target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
        return target;
    }
    // pagemap entries of the workload's pages, read now.
    std::vector<kernel::PagemapEntry> entries() const {
        UniqueFd pagemap(::open(("/proc/" + std::to_string(pid_) + "/pagemap").c_str(), O_RDONLY));
        std::vector<kernel::PagemapEntry> result;
        kernel::readPagemap(
            pagemap.get(), kernel::PageRange{base, base + pages * kernel::kPageSize},
            std::stop_token{}, [&](std::uint64_t, std::span<const kernel::PagemapEntry> chunk) {
                result.insert(result.end(), chunk.begin(), chunk.end());
            });
        return result;
    }
    SwappedFractions swappedFractions() const {
        auto pageEntries = entries();
        std::size_t cold = 0, coldSwapped = 0, hot = 0, hotSwapped = 0;
        for (std::size_t i = 0; i < pageEntries.size(); ++i) {
            bool swapped = pageEntries[i].swapped();
            if (isHot(i)) {
                ++hot;
                hotSwapped += swapped;
            } else {
                ++cold;
                coldSwapped += swapped;
            }
        }
        return {cold ? double(coldSwapped) / double(cold) : 0,
                hot ? double(hotSwapped) / double(hot) : 0};
    }

    std::uint64_t base = 0;
    std::size_t pages = 0;

  private:
    [[noreturn]] static void exec(std::vector<std::string>& args,
                                  const std::filesystem::path& cgroup) {
        if (!cgroup.empty()) {
            std::ofstream procs(cgroup / "cgroup.procs");
            procs << ::getpid() << std::flush;
            if (!procs) ::_exit(126);
        }
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    void waitForLayout(std::chrono::milliseconds timeout) const {
        constexpr std::chrono::milliseconds kPoll{100};
        for (auto waited = std::chrono::milliseconds{0};
             waited < timeout && !std::filesystem::exists(layoutPath_); waited += kPoll)
            std::this_thread::sleep_for(kPoll);
    }
    void readLayout() {
        std::ifstream in(layoutPath_);
        std::string key;
        while (in >> key) {
            if (key == "base")
                in >> std::hex >> base >> std::dec;
            else if (key == "pages")
                in >> pages;
            else if (key == "hot") {
                std::size_t index;
                while (in >> index) hot_.insert(index);
            } else {
                std::string ignored;
                in >> ignored;
            }
        }
    }

    static inline int counter_ = 0;
    std::filesystem::path layoutPath_;
    pid_t pid_ = 0;
    std::set<std::size_t> hot_;
};

}  // namespace etmem::test
