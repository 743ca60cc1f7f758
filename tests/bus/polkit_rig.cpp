// SPDX-License-Identifier: MulanPSL-2.0
#include "polkit_rig.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>
#include <system_error>
#include <tuple>

namespace etmem::test {

std::string polkitBusConfig() {
    return "<include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>"
           "<policy user=\"root\"><allow own=\"org.freedesktop.PolicyKit1\"/></policy>";
}

bool nameHasOwner(sdbus::IConnection& connection, const std::string& name) {
    auto proxy = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool owned = false;
    proxy->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(name)
        .storeResultsTo(owned);
    return owned;
}

PolkitDaemon::PolkitDaemon(const PrivateBus& bus, const std::filesystem::path& dir,
                           const std::string& rules) {
    const auto actions = dir / "polkit-actions";
    const auto rulesDir = dir / "polkit-rules.d";
    std::filesystem::create_directories(actions);
    std::filesystem::create_directories(rulesDir);
    std::filesystem::copy_file(
        std::filesystem::path(ETMEM_SOURCE_DIR) / "polkit/org.openeuler.etmem.policy",
        actions / "org.openeuler.etmem.policy", std::filesystem::copy_options::overwrite_existing);
    writeFile(rulesDir / "50-test.rules", rules);
    for (const auto& path : {actions, rulesDir}) chmod(path.c_str(), 0755);
    // polkitd drops to its own user: everything it reads must be world-readable.
    chmod((rulesDir / "50-test.rules").c_str(), 0644);
    chmod((actions / "org.openeuler.etmem.policy").c_str(), 0644);
    process_ = Process::spawn(
        {"/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec",
         "mount --bind \"$1\" /usr/share/polkit-1/actions; "
         "mount --bind \"$2\" /etc/polkit-1/rules.d; exec /usr/lib/polkit-1/polkitd --no-debug",
         "sh", actions.string(), rulesDir.string()},
        bus.environment(), outputTo((dir / "polkitd.log").string()));
}

bool PolkitDaemon::waitReady(sdbus::IConnection& probe, std::chrono::milliseconds timeout) {
    return eventually([&] { return nameHasOwner(probe, kPolkitName); }, timeout,
                      std::chrono::milliseconds(50));
}

SilentPolkit::SilentPolkit(const std::string& busAddress)
    : connection_(sdbus::createSessionBusConnectionWithAddress(busAddress)) {
    connection_->requestName(kPolkitName);
}

std::vector<std::string> asUser(const std::string& user, std::vector<std::string> argv) {
    // The user's own primary group by number: "nobody"'s group is "nogroup" on Debian.
    const passwd* entry = getpwnam(user.c_str());
    if (entry == nullptr) throw std::runtime_error("no user " + user);
    std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(entry->pw_uid),
                                  "--regid=" + std::to_string(entry->pw_gid), "--clear-groups",
                                  "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void runAsRoot(const std::vector<std::string>& argv, const std::string& input = {}) {
    auto result = runCommand(argv, currentEnvironment(), 30s, input);
    if (!result.status.success())
        throw std::runtime_error(quoteCommand(argv) + ": " + describe(result.status) + ": " +
                                 result.err);
}

std::chrono::milliseconds timeLeft(Clock::time_point deadline) {
    return std::max(0ms,
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

[[noreturn]] void throwErrno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

TestAccount::TestAccount(std::string user, std::string group, const std::string& password)
    : user_(std::move(user)), group_(std::move(group)) {
    if (getpwnam(user_.c_str()) != nullptr) runAsRoot({"/usr/sbin/userdel", user_});
    if (getgrnam(group_.c_str()) != nullptr) runAsRoot({"/usr/sbin/groupdel", group_});
    runAsRoot({"/usr/sbin/groupadd", "--system", group_});
    runAsRoot({"/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
               "--groups", group_, user_});
    runAsRoot({"/usr/sbin/chpasswd"}, user_ + ":" + password + "\n");
}

TestAccount::~TestAccount() {
    // userdel also removes the user's own group (useradd made one of the same name).
    std::ignore = runCommand({"/usr/sbin/userdel", user_}, currentEnvironment(), 30s);
    std::ignore = runCommand({"/usr/sbin/groupdel", group_}, currentEnvironment(), 30s);
}

std::string randomPassword() {
    std::random_device random;
    std::uniform_int_distribution<int> letter(0, 25);
    std::string password = "Et-";
    for (int i = 0; i < 16; ++i) password += static_cast<char>('a' + letter(random));
    return password;
}

std::vector<std::string> onWellKnownSystemBus(const PrivateBus& bus,
                                              std::vector<std::string> argv) {
    // "unix:path=/dir/bus,guid=...": the socket's path.
    const std::string& address = bus.address();
    const std::string prefix = "unix:path=";
    if (address.rfind(prefix, 0) != 0) throw std::runtime_error("not a unix socket: " + address);
    const std::string socket = address.substr(prefix.size(), address.find(',') - prefix.size());
    std::vector<std::string> full{
        "/usr/bin/unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-ec",
        "mount -t tmpfs tmpfs /run/dbus; ln -s \"$1\" /run/dbus/system_bus_socket; shift; "
        "exec \"$@\"",
        "sh",
        socket};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

Terminal::Terminal(const std::vector<std::string>& argv, const Environment& env) {
    master_.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master_) throwErrno("posix_openpt");
    if (grantpt(master_.get()) != 0 || unlockpt(master_.get()) != 0) throwErrno("unlockpt");
    char name[64];
    if (ptsname_r(master_.get(), name, sizeof name) != 0) throwErrno("ptsname_r");
    UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) throwErrno(std::string("open ") + name);
    fcntl(master_.get(), F_SETFL, fcntl(master_.get(), F_GETFL) | O_NONBLOCK);
    // setsid(1) makes the terminal the controlling one of a new session: /dev/tty, which
    // pkttyagent opens for the prompt, is then this terminal.
    std::vector<std::string> full{"/usr/bin/setsid", "--ctty", "--wait", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    SpawnOptions options;
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) options.extraFds[fd] = slave.get();
    process_ = Process::spawn(full, env, options);
}

bool Terminal::readFor(std::chrono::milliseconds timeout) {
    if (closed_) return false;
    pollfd entry{master_.get(), POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(master_.get(), buffer, sizeof buffer);
        if (got > 0) {
            output_.append(buffer, static_cast<std::size_t>(got));
            continue;
        }
        // EIO: every holder of the terminal's other side has closed it.
        if (got == 0 || errno == EIO) closed_ = true;
        return !closed_;
    }
}

bool Terminal::waitFor(std::string_view text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
        if (!readFor(std::min(timeLeft(deadline), 100ms)) || Clock::now() >= deadline)
            return output_.find(text) != std::string::npos;
    }
    return true;
}

bool Terminal::waitForEchoOff(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        termios settings{};
        // The master reports the terminal's settings, which the program's side changes.
        if (tcgetattr(master_.get(), &settings) != 0) throwErrno("tcgetattr");
        if ((settings.c_lflag & ECHO) == 0) return true;
        if (!readFor(std::min(timeLeft(deadline), 20ms)) || Clock::now() >= deadline) return false;
    }
}

void Terminal::type(std::string_view text) {
    if (::write(master_.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throwErrno("write to the terminal");
}

std::optional<ExitStatus> Terminal::waitExit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (readFor(std::min(timeLeft(deadline), 100ms)) && Clock::now() < deadline) {
    }
    return process_.waitFor(timeLeft(deadline));
}

}  // namespace etmem::test
