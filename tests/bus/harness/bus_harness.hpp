// SPDX-License-Identifier: MulanPSL-2.0
// A private system bus with etmemd on it: what the bus-level tests and the control-plane
// benchmark share. Nothing here touches the host's bus, systemd or /var/lib/etmem.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "etmem/unique_fd.hpp"
#include "process.hpp"

namespace etmem::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
  public:
    explicit TempDir(std::string_view prefix = "etmem-bus");
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

void writeFile(const std::filesystem::path& path, std::string_view content);
std::string readFile(const std::filesystem::path& path);

// Where the programs under test live.
struct Programs {
    std::string etmemd;
    std::string etmem;
    std::string dbusDaemon = "/usr/bin/dbus-daemon";
    std::string busctl = "/usr/bin/busctl";
    // Folder whose *.conf is included in the bus config (the project's bus policy).
    std::string policyDir;
};

// The programs found at configure time (dbus-daemon, busctl, the project's policy folder)
// plus the two under test.
Programs buildPrograms(std::string etmemd, std::string etmem);

// The bus config: system bus type and the stock system policy (deny by default), plus the
// project's policy from `policyDir`, listening on a socket in `dir`.
std::string systemBusConfig(const std::filesystem::path& socketPath,
                            const std::filesystem::path& policyDir);

// A dbus-daemon of type system on a unix socket in `dir`; stopped on destruction.
class PrivateBus {
  public:
    // extraConfig: more elements for the bus config (e.g. polkit's bus policy).
    PrivateBus(const Programs& programs, const std::filesystem::path& dir,
               const std::string& extraConfig = "");
    const std::string& address() const { return address_; }
    // Environment that points clients and etmemd at this bus.
    Environment environment() const;
    Process& process() { return process_; }

  private:
    std::string address_;
    Process process_;
};

// A test-owned NOTIFY_SOCKET: an AF_UNIX datagram socket that records every assignment
// (READY=1, STATUS=..., STOPPING=1, ...) a daemon sends with sd_notify. A thread reads it
// all the time, as systemd does: sd_notify blocks the sender once the socket's queue is full.
class NotifySocket {
  public:
    explicit NotifySocket(std::filesystem::path path);
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;
    ~NotifySocket();
    const std::filesystem::path& path() const { return path_; }
    // Waits until `assignment` (e.g. "READY=1") or, for a prefix ending in '=', any
    // assignment with it, has been seen, or the timeout passes.
    bool waitFor(std::string_view assignment, std::chrono::milliseconds timeout);
    // Every assignment received so far, in order.
    std::vector<std::string> received();
    bool seen(std::string_view assignment);
    // The value of the last STATUS= seen ("" if none).
    std::string lastStatus();

  private:
    void readLoop(std::stop_token stop);
    bool seenLocked(std::string_view assignment) const;
    std::filesystem::path path_;
    UniqueFd socket_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<std::string> received_;
    std::jthread reader_;
};

// One etmemd on a PrivateBus, with its own state directory and notify socket.
struct DaemonOptions {
    std::vector<std::string> extraArgs;  // e.g. {"-s", "inst", "-l", "0"}
    std::filesystem::path stateDir;
    std::filesystem::path notifyPath;
    std::filesystem::path logPath;  // stdout and stderr of the daemon
};

// What some tests change about how the daemon is started.
struct DaemonExtras {
    Environment env;         // set on top of the bus's environment
    std::map<int, int> fds;  // child fd -> parent fd (e.g. 2 -> a pipe for stderr)
};

class Daemon {
  public:
    Daemon(const Programs& programs, const PrivateBus& bus, DaemonOptions options,
           const DaemonExtras& extras = {});
    // Waits for READY=1; false (and the daemon left as it is) on timeout or early exit.
    bool waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // SIGTERM, then waits for the exit; nullopt if it did not exit in time.
    std::optional<ExitStatus> terminate(std::chrono::milliseconds timeout);
    Process& process() { return process_; }
    NotifySocket& notify() { return notify_; }
    std::string log() const;
    const DaemonOptions& options() const { return options_; }

  private:
    DaemonOptions options_;
    NotifySocket notify_;
    Process process_;
};

// VmRSS of a process in KiB, from /proc/PID/status (-1 if unreadable).
long residentKiB(pid_t pid);

// Polls `condition` every few milliseconds until true or the timeout passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(20));

// A config text the daemon accepts: one slide task against `pid`.
std::string pidConfig(pid_t pid, unsigned loop = 1, unsigned interval = 1, unsigned sleep = 1);

}  // namespace etmem::test
