// SPDX-License-Identifier: MulanPSL-2.0
// The polkit Authorizer against the REAL polkitd, on a private system bus.
//
// A private dbus-daemon (type system, our bus policy included) and /usr/lib/polkit-1/polkitd
// run for the suite; polkitd runs in its own mount namespace where a temp dir holding
// polkit/org.openeuler.etmem.policy is bind-mounted over /usr/share/polkit-1/actions and one
// holding the example rule polkit/50-etmem.rules over /etc/polkit-1/rules.d. Without
// logind no subject is local or active, so only group-keyed rules can grant anything: that
// is exactly what the example rule does. Clients are busctl runs as test users (setpriv).
// Needs root (users, namespaces, polkitd); skips otherwise.
#include "polkit_authorizer.hpp"
#include "private_bus_config.hpp"

#include <fcntl.h>
#include <etmem/unique_fd.hpp>

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using etmem::service::kManageAction;

constexpr const char* kPolkitd = "/usr/lib/polkit-1/polkitd";
// Root may own every org.openeuler.Etmem* name under our bus policy: the test server takes
// an instance-style name, which also proves that part of the policy.
constexpr const char* kServerName = "org.openeuler.Etmem.i_deploytest";
constexpr const char* kServerPath = "/org/openeuler/Etmem/deploytest";
constexpr const char* kServerInterface = "org.openeuler.Etmem.DeployTest";
constexpr const char* kPlainUser = "etmemtest-plain";
constexpr const char* kMemberUser = "etmemtest-member";
constexpr const char* kGrantedGroup = "etmem";  // the group the example rule names

struct CommandResult {
    int exitCode;
    std::string output;  // stdout and stderr together
};

// Runs argv, waits, returns its exit status and output. Children inherit the environment,
// so DBUS_SYSTEM_BUS_ADDRESS points them at the private bus.
CommandResult run(const std::vector<std::string>& argv) {
    std::array<int, 2> pipeFds{};
    if (pipe2(pipeFds.data(), O_CLOEXEC) != 0) return {-1, "pipe failed"};
    etmem::UniqueFd readEnd(pipeFds[0]);
    etmem::UniqueFd writeEnd(pipeFds[1]);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(writeEnd.get(), STDOUT_FILENO);
        dup2(writeEnd.get(), STDERR_FILENO);
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    writeEnd.reset();  // so read() sees EOF when the child exits
    std::string output;
    std::array<char, 4096> buffer{};
    ssize_t n = 0;
    while ((n = read(readEnd.get(), buffer.data(), buffer.size())) > 0)
        output.append(buffer.data(), static_cast<std::size_t>(n));
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

// A background process, terminated and reaped when this goes away.
class Child {
  public:
    explicit Child(const std::vector<std::string>& argv) {
        pid_ = fork();
        if (pid_ == 0) {
            std::vector<char*> args;
            for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
            args.push_back(nullptr);
            execvp(args[0], args.data());
            _exit(127);
        }
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { stop(); }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

  private:
    pid_t pid_{-1};
};

// A group or user created for the test and removed afterwards; one that already existed is
// used and left alone.
class Account {
  public:
    Account(std::vector<std::string> create, std::vector<std::string> remove, bool exists)
        : remove_(std::move(remove)), created_(!exists) {
        if (created_) created_ = run(create).exitCode == 0;
    }
    Account(const Account&) = delete;
    Account& operator=(const Account&) = delete;
    ~Account() {
        if (created_) std::ignore = run(remove_);
    }

  private:
    std::vector<std::string> remove_;
    bool created_;
};

std::unique_ptr<Account> makeGroup(const std::string& name) {
    return std::make_unique<Account>(std::vector<std::string>{"groupadd", "--system", name},
                                     std::vector<std::string>{"groupdel", name},
                                     getgrnam(name.c_str()) != nullptr);
}

std::unique_ptr<Account> makeUser(const std::string& name, const std::string& groups) {
    std::vector<std::string> create{"useradd", "--system", "--no-create-home", "--shell",
                                    "/usr/sbin/nologin"};
    if (!groups.empty()) create.insert(create.end(), {"--groups", groups});
    create.push_back(name);
    // The name is ours (etmemtest-*): if a previous crashed run left it, recreate it.
    if (getpwnam(name.c_str()) != nullptr) std::ignore = run({"userdel", name});
    return std::make_unique<Account>(create, std::vector<std::string>{"userdel", name}, false);
}

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "etmem-deploy-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

void writeFile(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

// The tests' private system bus (our bus policy included) plus polkitd's policy.
std::string busConfig(const fs::path& socket) {
    return etmem::test::privateSystemBusConfig(
        socket, fs::path(ETMEM_SOURCE_DIR) / "dbus-interfaces",
        "<include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>");
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

// Everything the suite shares: the bus, polkitd, the accounts, the test server.
class Environment {
  public:
    Environment() {
        chmod(dir_.c_str(), 0755);  // test users must reach the bus socket
        const fs::path socket = dir_ / "bus";
        writeFile(dir_ / "bus.conf", busConfig(socket));
        bus_ = std::make_unique<Child>(
            std::vector<std::string>{"dbus-daemon", "--nofork", "--nopidfile",
                                     "--config-file=" + (dir_ / "bus.conf").string()});
        if (!waitFor([&] { return fs::exists(socket); }, 5s))
            throw std::runtime_error("private dbus-daemon did not start");
        setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + socket.string()).c_str(), 1);

        startPolkitd();

        group_ = makeGroup(kGrantedGroup);
        plain_ = makeUser(kPlainUser, "");
        member_ = makeUser(kMemberUser, kGrantedGroup);

        startServer();
    }
    ~Environment() {
        if (connection_) connection_->leaveEventLoop();
        object_.reset();
        authorizer_.reset();
        connection_.reset();
        polkitd_.reset();
        bus_.reset();
        unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        member_.reset();
        plain_.reset();
        group_.reset();
    }

    void stopPolkitd() { polkitd_.reset(); }
    bool polkitdOwnsItsName() const { return nameHasOwner("org.freedesktop.PolicyKit1"); }
    etmem::service::Authorizer& authorizer() { return *authorizer_; }

  private:
    void startPolkitd() {
        const fs::path actions = dir_ / "actions";
        const fs::path rules = dir_ / "rules.d";
        fs::create_directories(actions);
        fs::create_directories(rules);
        fs::copy_file(fs::path(ETMEM_SOURCE_DIR) / "polkit/org.openeuler.etmem.policy",
                      actions / "org.openeuler.etmem.policy");
        fs::copy_file(fs::path(ETMEM_SOURCE_DIR) / "polkit/50-etmem.rules",
                      rules / "50-etmem.rules");
        // The bind mounts exist only in polkitd's private mount namespace.
        polkitd_ = std::make_unique<Child>(std::vector<std::string>{
            "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec",
            "mount --bind \"$1\" /usr/share/polkit-1/actions; "
            "mount --bind \"$2\" /etc/polkit-1/rules.d; exec \"$3\" --no-debug",
            "sh", actions.string(), rules.string(), kPolkitd});
        probe_ = sdbus::createSystemBusConnection();
        if (!waitFor([&] { return polkitdOwnsItsName(); }, 20s))
            throw std::runtime_error("polkitd did not take org.freedesktop.PolicyKit1");
    }

    bool nameHasOwner(const std::string& name) const {
        auto proxy = sdbus::createProxy(*probe_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        bool owned = false;
        proxy->callMethod("NameHasOwner")
            .onInterface("org.freedesktop.DBus")
            .withArguments(name)
            .storeResultsTo(owned);
        return owned;
    }

    // Mutate(s action) -> s: authorizes the caller for action, answers AccessDenied or "allowed"
    // once polkit has answered (an asynchronous method, as etmemd's are).
    // WhoAmI() -> (sub): the caller's bus name, its uid as the bus recorded it, and the flag.
    void startServer() {
        using etmem::service::AuthDecision;
        using etmem::service::currentCaller;
        connection_ = sdbus::createSystemBusConnection(kServerName);
        authorizer_ = etmem::service::makePolkitAuthorizer(*connection_);
        object_ = sdbus::createObject(*connection_, kServerPath);
        object_->registerMethod("Mutate")
            .onInterface(kServerInterface)
            .implementedAs([this](sdbus::Result<std::string>&& result, std::string action) {
                auto reply = std::make_shared<sdbus::Result<std::string>>(std::move(result));
                authorizer_->authorize(
                    currentCaller(*object_), action, 0, [reply](const AuthDecision& decision) {
                        if (decision.allowed) return reply->returnResults("allowed");
                        reply->returnError(sdbus::Error("org.openeuler.Etmem.Error.AccessDenied",
                                                        decision.message));
                    });
            });
        using Identity = sdbus::Struct<std::string, std::uint32_t, bool>;
        object_->registerMethod("WhoAmI")
            .onInterface(kServerInterface)
            .implementedAs([this](sdbus::Result<Identity>&& result) {
                auto reply = std::make_shared<sdbus::Result<Identity>>(std::move(result));
                auto caller = currentCaller(*object_);
                authorizer_->uidOf(caller.sender, [reply, caller](uid_t uid, const std::string&) {
                    reply->returnResults(Identity(caller.sender, uid, caller.interactive));
                });
            });
        // A writable property guarded like etmemd's LogLevel: root only, by the bus's uid.
        object_->registerProperty("Level")
            .onInterface(kServerInterface)
            .withGetter([this]() { return level_.load(); })
            .withSetter([this](const std::uint32_t& value) {
                if (authorizer_->uidOfNow(currentCaller(*object_).sender) != 0)
                    throw sdbus::Error("org.openeuler.Etmem.Error.AccessDenied",
                                       "writing Level is for root");
                level_ = value;
            });
        object_->finishRegistration();
        connection_->enterEventLoopAsync();
    }

    TempDir tempDir_;  // first member: removed last, also when the constructor throws
    fs::path dir_ = tempDir_.path();
    std::unique_ptr<Child> bus_;
    std::unique_ptr<Child> polkitd_;
    std::unique_ptr<sdbus::IConnection> probe_;
    std::unique_ptr<Account> group_, plain_, member_;
    std::unique_ptr<sdbus::IConnection> connection_;
    std::unique_ptr<etmem::service::Authorizer> authorizer_;
    std::unique_ptr<sdbus::IObject> object_;
    std::atomic<std::uint32_t> level_{0};
};

std::optional<std::string> skipReason() {
    if (geteuid() != 0) return "needs root: creates users, mount namespaces and runs polkitd";
    if (access(kPolkitd, X_OK) != 0) return std::string(kPolkitd) + " missing (package polkitd)";
    if (run({"unshare", "--mount", "--propagation", "private", "true"}).exitCode != 0)
        return "cannot create a mount namespace here";
    return std::nullopt;
}

class PolkitAuthorizerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (skipReason()) return;
        environment_ = std::make_unique<Environment>();
    }
    static void TearDownTestSuite() { environment_.reset(); }
    void SetUp() override {
        if (auto reason = skipReason()) GTEST_SKIP() << *reason;
        ASSERT_TRUE(environment_);
    }

    // busctl as user ("" = root), calling method with args on the test server.
    static CommandResult call(const std::string& user, bool interactive,
                              const std::vector<std::string>& methodAndArgs) {
        std::vector<std::string> argv;
        if (!user.empty())
            argv = {"setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"};
        argv.insert(argv.end(),
                    {"busctl", "--system",
                     "--allow-interactive-authorization=" + std::string(interactive ? "yes" : "no"),
                     "call", kServerName, kServerPath, kServerInterface});
        argv.insert(argv.end(), methodAndArgs.begin(), methodAndArgs.end());
        return run(argv);
    }
    static CommandResult mutate(const std::string& user, bool interactive,
                                std::string_view action = kManageAction) {
        return call(user, interactive, {"Mutate", "s", std::string(action)});
    }

    static std::unique_ptr<Environment> environment_;
};
std::unique_ptr<Environment> PolkitAuthorizerTest::environment_;

uid_t uidOf(const char* user) {
    const passwd* entry = getpwnam(user);
    return entry ? entry->pw_uid : etmem::service::kUnknownUid;
}

TEST_F(PolkitAuthorizerTest, CallerIdentityComesFromTheBus) {
    auto plain = call(kPlainUser, false, {"WhoAmI"});
    ASSERT_EQ(plain.exitCode, 0) << plain.output;
    // busctl prints: (sub) ":1.7" 999 false
    EXPECT_NE(plain.output.find(" " + std::to_string(uidOf(kPlainUser)) + " false"),
              std::string::npos)
        << plain.output;
    EXPECT_NE(plain.output.find("\":1."), std::string::npos) << plain.output;

    auto interactive = call(kPlainUser, true, {"WhoAmI"});
    ASSERT_EQ(interactive.exitCode, 0) << interactive.output;
    EXPECT_NE(interactive.output.find(" true"), std::string::npos) << interactive.output;

    auto root = call("", false, {"WhoAmI"});
    ASSERT_EQ(root.exitCode, 0) << root.output;
    EXPECT_NE(root.output.find(" 0 false"), std::string::npos) << root.output;
}

TEST_F(PolkitAuthorizerTest, RootIsAllowed) {
    auto result = mutate("", false);
    EXPECT_EQ(result.exitCode, 0) << result.output;
    EXPECT_NE(result.output.find("allowed"), std::string::npos) << result.output;
}

TEST_F(PolkitAuthorizerTest, UnprivilegedUserIsDeniedWithAMessageNamingTheAction) {
    for (bool interactive : {false, true}) {
        auto result = mutate(kPlainUser, interactive);
        EXPECT_NE(result.exitCode, 0) << result.output;
        EXPECT_NE(result.output.find("Not authorized to manage etmem projects"), std::string::npos)
            << result.output;
        EXPECT_NE(result.output.find(std::string(kManageAction)), std::string::npos)
            << result.output;
    }
    // auth_admin_keep: polkit would accept an administrator's password; a non-interactive
    // caller is told that interactive authorization is what is missing.
    auto nonInteractive = mutate(kPlainUser, false);
    EXPECT_NE(nonInteractive.output.find("interactive authorization"), std::string::npos)
        << nonInteractive.output;
}

TEST_F(PolkitAuthorizerTest, ExampleRuleGrantsTheEtmemGroup) {
    auto result = mutate(kMemberUser, false);
    EXPECT_EQ(result.exitCode, 0) << result.output;
    EXPECT_NE(result.output.find("allowed"), std::string::npos) << result.output;
}

TEST_F(PolkitAuthorizerTest, ExampleRuleGrantsOnlyTheManageAction) {
    auto result = mutate(kMemberUser, false, "org.openeuler.etmem.no-such-action");
    EXPECT_NE(result.exitCode, 0) << result.output;
    EXPECT_NE(result.output.find("org.openeuler.etmem.no-such-action"), std::string::npos)
        << result.output;
}

// Property writes cannot wait for polkit (sdbus-c++ answers when the setter returns): they
// are root's, by the uid the bus recorded; a group member is refused like anyone else.
TEST_F(PolkitAuthorizerTest, PropertyWritesAreRootsByTheBusUid) {
    auto setLevel = [](const std::string& user, const std::string& value) {
        std::vector<std::string> argv;
        if (!user.empty())
            argv = {"setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"};
        argv.insert(argv.end(), {"busctl", "--system", "set-property", kServerName, kServerPath,
                                 kServerInterface, "Level", "u", value});
        return run(argv);
    };
    auto getLevel = [] {
        return run({"busctl", "--system", "get-property", kServerName, kServerPath,
                    kServerInterface, "Level"})
            .output;
    };
    auto denied = setLevel(kPlainUser, "7");
    EXPECT_NE(denied.exitCode, 0) << denied.output;
    EXPECT_NE(denied.output.find("for root"), std::string::npos) << denied.output;
    EXPECT_EQ(getLevel(), "u 0\n");

    auto member = setLevel(kMemberUser, "2");
    EXPECT_NE(member.exitCode, 0) << member.output;
    EXPECT_EQ(getLevel(), "u 0\n");

    auto root = setLevel("", "3");
    EXPECT_EQ(root.exitCode, 0) << root.output;
    EXPECT_EQ(getLevel(), "u 3\n");
}

// Keep last: it stops polkitd for the rest of the suite.
TEST_F(PolkitAuthorizerTest, ZPolkitUnreachableMeansDenied) {
    environment_->stopPolkitd();
    ASSERT_TRUE(waitFor([] { return !environment_->polkitdOwnsItsName(); }, 5s));

    auto member = mutate(kMemberUser, false);
    EXPECT_NE(member.exitCode, 0) << member.output;
    EXPECT_NE(member.output.find("polkit could not be asked"), std::string::npos) << member.output;
    EXPECT_NE(member.output.find(std::string(kManageAction)), std::string::npos) << member.output;

    auto root = mutate("", false);
    EXPECT_EQ(root.exitCode, 0) << root.output;
}

}  // namespace
