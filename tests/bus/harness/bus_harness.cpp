// SPDX-License-Identifier: MulanPSL-2.0
#include "bus_harness.hpp"

#include "private_bus_config.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace etmem::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

[[noreturn]] void throwErrno(const std::string& what, int error = errno) {
    throw std::system_error(error, std::generic_category(), what);
}

milliseconds timeLeft(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return std::max(left, milliseconds(0));
}

sockaddr_un unixAddress(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string& text = path.native();
    if (text.size() >= sizeof address.sun_path)
        throw std::runtime_error("socket path too long: " + text);
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    return address;
}

// Reads one line from `fd` (the dbus-daemon's --print-address pipe) within the timeout.
std::string readLine(int fd, milliseconds timeout) {
    std::string line;
    auto deadline = Clock::now() + timeout;
    while (line.find('\n') == std::string::npos) {
        pollfd entry{fd, POLLIN, 0};
        int rc = poll(&entry, 1, static_cast<int>(timeLeft(deadline).count()));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) throw std::runtime_error("dbus-daemon did not print its address in time");
        char buffer[512];
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) throw std::runtime_error("dbus-daemon exited before printing its address");
        line.append(buffer, static_cast<std::size_t>(n));
    }
    return line.substr(0, line.find('\n'));
}

bool matches(std::string_view received, std::string_view wanted) {
    if (!wanted.empty() && wanted.back() == '=') return received.starts_with(wanted);
    return received == wanted;
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" + std::string(prefix);
    pattern += "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throwErrno("mkdtemp " + pattern);
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

void writeFile(const std::filesystem::path& path, std::string_view content) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!file) throw std::runtime_error("cannot write " + path.string());
}

std::string readFile(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}

Programs buildPrograms(std::string etmemd, std::string etmem) {
    Programs programs;
    programs.etmemd = std::move(etmemd);
    programs.etmem = std::move(etmem);
    programs.dbusDaemon = ETMEM_DBUS_DAEMON;
    programs.busctl = ETMEM_BUSCTL;
    programs.policyDir = ETMEM_BUS_POLICY_DIR;
    return programs;
}

std::string systemBusConfig(const std::filesystem::path& socketPath,
                            const std::filesystem::path& policyDir) {
    return privateSystemBusConfig(socketPath, policyDir);
}

PrivateBus::PrivateBus(const Programs& programs, const std::filesystem::path& dir,
                       const std::string& extraConfig) {
    auto configPath = dir / "bus.conf";
    writeFile(configPath, privateSystemBusConfig(dir / "bus", programs.policyDir, extraConfig));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throwErrno("pipe2");
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    SpawnOptions options;
    options.stderrPath = (dir / "bus.log").string();
    options.extraFds[3] = writeEnd.get();
    process_ = Process::spawn({programs.dbusDaemon, "--config-file=" + configPath.string(),
                               "--nofork", "--print-address=3"},
                              currentEnvironment(), options);
    writeEnd.reset();
    address_ = readLine(readEnd.get(), std::chrono::seconds(10));
}

Environment PrivateBus::environment() const {
    Environment env = currentEnvironment();
    env["DBUS_SYSTEM_BUS_ADDRESS"] = address_;
    env.erase("DBUS_SESSION_BUS_ADDRESS");
    env.erase("NOTIFY_SOCKET");
    env.erase("WATCHDOG_USEC");
    env.erase("WATCHDOG_PID");
    // Every etmemd of the rig runs on the host: keep its "auto" scanner off the host's DAMON
    // (which belongs to the machine). idle_page reads and writes only page_idle/bitmap, which
    // this host lacks; tests that need a working scanner run in the VM tier.
    if (!env.contains("ETMEM_DEFAULT_SCANNER")) env["ETMEM_DEFAULT_SCANNER"] = "idle_page";
    return env;
}

NotifySocket::NotifySocket(std::filesystem::path path) : path_(std::move(path)) {
    socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!socket_) throwErrno("socket");
    auto address = unixAddress(path_);
    std::filesystem::remove(path_);
    if (bind(socket_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        throwErrno("bind " + path_.string());
    reader_ = std::jthread([this](std::stop_token stop) { readLoop(stop); });
}

NotifySocket::~NotifySocket() {
    reader_.request_stop();
    if (reader_.joinable()) reader_.join();
}

void NotifySocket::readLoop(std::stop_token stop) {
    while (!stop.stop_requested()) {
        // Short polls so a stop request is seen promptly without a wake-up pipe.
        pollfd entry{socket_.get(), POLLIN, 0};
        if (poll(&entry, 1, 50) <= 0) continue;
        char buffer[4096];
        ssize_t n = 0;
        while ((n = recv(socket_.get(), buffer, sizeof buffer, 0)) >= 0) {
            std::string_view message(buffer, static_cast<std::size_t>(n));
            std::lock_guard lock(mutex_);
            while (!message.empty()) {
                auto end = message.find('\n');
                auto line = message.substr(0, end);
                if (!line.empty()) received_.emplace_back(line);
                if (end == std::string_view::npos) break;
                message.remove_prefix(end + 1);
            }
            arrived_.notify_all();
        }
    }
}

bool NotifySocket::seenLocked(std::string_view assignment) const {
    for (const auto& line : received_)
        if (matches(line, assignment)) return true;
    return false;
}

bool NotifySocket::waitFor(std::string_view assignment, milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return arrived_.wait_for(lock, timeout, [&] { return seenLocked(assignment); });
}

std::vector<std::string> NotifySocket::received() {
    std::lock_guard lock(mutex_);
    return received_;
}

bool NotifySocket::seen(std::string_view assignment) {
    std::lock_guard lock(mutex_);
    return seenLocked(assignment);
}

std::string NotifySocket::lastStatus() {
    std::lock_guard lock(mutex_);
    for (auto it = received_.rbegin(); it != received_.rend(); ++it)
        if (it->starts_with("STATUS=")) return it->substr(7);
    return {};
}

Daemon::Daemon(const Programs& programs, const PrivateBus& bus, DaemonOptions options,
               const DaemonExtras& extras)
    : options_(std::move(options)), notify_(options_.notifyPath) {
    std::filesystem::create_directories(options_.stateDir);
    Environment env = bus.environment();
    env["STATE_DIRECTORY"] = options_.stateDir.string();
    env["NOTIFY_SOCKET"] = options_.notifyPath.string();
    for (const auto& [name, value] : extras.env) env[name] = value;
    std::vector<std::string> argv{programs.etmemd};
    argv.insert(argv.end(), options_.extraArgs.begin(), options_.extraArgs.end());
    SpawnOptions spawnOptions;
    spawnOptions.stdoutPath = options_.logPath.string();
    spawnOptions.stderrPath = options_.logPath.string();
    spawnOptions.extraFds = extras.fds;
    process_ = Process::spawn(argv, env, spawnOptions);
}

bool Daemon::waitReady(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (process_.alive()) {
        if (notify_.waitFor("READY=1", std::min(timeLeft(deadline), milliseconds(100))))
            return true;
        if (Clock::now() >= deadline) return false;
    }
    return false;
}

std::optional<ExitStatus> Daemon::terminate(milliseconds timeout) {
    process_.sendSignal(SIGTERM);
    return process_.waitFor(timeout);
}

std::string Daemon::log() const {
    return readFile(options_.logPath);
}

long residentKiB(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

bool eventually(const std::function<bool()>& condition, milliseconds timeout, milliseconds step) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::min(step, timeLeft(deadline)));
    }
}

std::string pidConfig(pid_t pid, unsigned loop, unsigned interval, unsigned sleep) {
    std::ostringstream text;
    text << "options:\n"
         << "  loop: " << loop << "\n"
         << "  interval: " << interval << "\n"
         << "  sleep: " << sleep << "\n"
         << "  policies:\n"
         << "    type: pid\n"
         << "    value: " << pid << "\n"
         << "    max_threads: 1\n"
         << "    engine: slide\n"
         << "    param:\n"
         << "      T: 1\n";
    return text.str();
}

}  // namespace etmem::test
