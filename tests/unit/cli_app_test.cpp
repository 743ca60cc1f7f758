// SPDX-License-Identifier: MulanPSL-2.0
// One `etmem` run end to end against a fake etmemd: exit codes, what goes to stdout and
// stderr, and that nothing reaches the daemon when the command line or the file is wrong.
#include "app.hpp"
#include "bus_errors.hpp"
#include "config_file.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace etmem::cli {
namespace {

struct Calls {
    int connects = 0;
    std::string instance;
    std::vector<std::string> log;  // "add name", "del name", ...
    std::string configText;
};

class FakeDaemon final : public DaemonClient {
  public:
    FakeDaemon(Calls& calls, std::vector<ProjectInfo> projects, std::string failWith)
        : calls_(calls), projects_(std::move(projects)), failWith_(std::move(failWith)) {}

    void addProject(const std::string& name, const std::string& text) override {
        record("add " + name);
        calls_.configText = text;
    }
    void removeProject(const std::string& name) override { record("del " + name); }
    void startProject(const std::string& name) override { record("start " + name); }
    void stopProject(const std::string& name) override { record("stop " + name); }
    void addObjects(const std::string& text) override {
        record("obj add");
        calls_.configText = text;
    }
    void removeObjects(const std::string& text) override {
        record("obj del");
        calls_.configText = text;
    }
    std::vector<ProjectEntry> listProjects() override {
        record("list");
        std::vector<ProjectEntry> entries;
        for (const auto& p : projects_) entries.push_back({p.name, p.state, "/p/" + p.name});
        return entries;
    }
    std::optional<ProjectInfo> projectDetails(const ProjectEntry& entry) override {
        calls_.log.push_back("details " + entry.name);
        for (const auto& p : projects_) {
            if (p.name == entry.name) return p;
        }
        return std::nullopt;
    }

  private:
    void record(std::string what) {
        calls_.log.push_back(std::move(what));
        if (!failWith_.empty()) throw ClientError(failWith_);
    }
    Calls& calls_;
    std::vector<ProjectInfo> projects_;
    std::string failWith_;
};

class CliApp : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/etmem-cli-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string writeFile(const std::string& name, const std::string& text) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    int run(const std::vector<std::string>& args) {
        out_.str("");
        err_.str("");
        ClientFactory factory = [this](const std::string& instance) {
            ++calls_.connects;
            calls_.instance = instance;
            if (!refuseConnect_.empty()) throw ClientError(refuseConnect_);
            return std::make_unique<FakeDaemon>(calls_, projects_, failWith_);
        };
        return runEtmem(args, factory, out_, err_);
    }

    // stderr holds exactly one line.
    void expectOneErrorLine() const {
        std::string err = err_.str();
        ASSERT_FALSE(err.empty());
        EXPECT_EQ(err.find('\n'), err.size() - 1) << err;
    }

    std::string dir_;
    Calls calls_;
    std::vector<ProjectInfo> projects_;
    std::string failWith_;
    std::string refuseConnect_;
    std::ostringstream out_;
    std::ostringstream err_;
};

TEST_F(CliApp, AddSendsTheFileTextNotThePath) {
    std::string text = "options:\n  loop: 3\n";
    std::string path = writeFile("conf.yaml", text);
    EXPECT_EQ(run({"project", "add", "-n", "test", "-f", path, "-s", "dt_socket"}), kExitSuccess);
    EXPECT_EQ(calls_.log, std::vector<std::string>{"add test"});
    EXPECT_EQ(calls_.configText, text);
    EXPECT_EQ(calls_.instance, "dt_socket");
    EXPECT_EQ(err_.str(), "");
}

TEST_F(CliApp, EachCommandCallsTheDaemonOnce) {
    EXPECT_EQ(run({"project", "del", "-n", "a"}), kExitSuccess);
    EXPECT_EQ(run({"migrate", "start", "--name", "b"}), kExitSuccess);
    EXPECT_EQ(run({"migrate", "stop", "-n", "c", "--sock", "i"}), kExitSuccess);
    EXPECT_EQ(calls_.log, (std::vector<std::string>{"del a", "start b", "stop c"}));
    EXPECT_EQ(calls_.instance, "i");
    EXPECT_EQ(calls_.connects, 3);
}

TEST_F(CliApp, Etmem11FormsCallTheDaemonOnce) {
    const std::string text = "[task]\nproject=test\nengine=slide\nname=t\n";
    const std::string path = writeFile("task.config", text);
    EXPECT_EQ(run({"obj", "add", "-f", path, "-s", "etmemd_socket"}), kExitSuccess);
    EXPECT_EQ(calls_.configText, text);
    EXPECT_EQ(calls_.instance, "etmemd_socket");
    EXPECT_EQ(run({"obj", "del", "--file", path}), kExitSuccess);
    EXPECT_EQ(run({"project", "start", "-n", "test"}), kExitSuccess);
    EXPECT_EQ(run({"project", "stop", "--name", "test"}), kExitSuccess);
    EXPECT_EQ(calls_.log,
              (std::vector<std::string>{"obj add", "obj del", "start test", "stop test"}));
    EXPECT_EQ(run({"obj", "help"}), kExitSuccess);
    EXPECT_NE(out_.str().find("etmem obj add [options]"), std::string::npos);
    EXPECT_NE(out_.str().find("Configuration file must be given."), std::string::npos);
    EXPECT_EQ(calls_.connects, 4);
    // A missing file is reported before any daemon is asked.
    EXPECT_EQ(run({"obj", "add", "-f", dir_ + "/none"}), kExitFailure);
    EXPECT_EQ(calls_.connects, 4);
    expectOneErrorLine();
}

TEST_F(CliApp, HelpGoesToStdoutWithoutTheDaemon) {
    EXPECT_EQ(run({"help"}), kExitSuccess);
    EXPECT_NE(out_.str().find("etmem OBJECT COMMAND"), std::string::npos);
    EXPECT_EQ(run({"project", "help"}), kExitSuccess);
    EXPECT_NE(out_.str().find("etmem project add [options]"), std::string::npos);
    EXPECT_EQ(run({"migrate", "help"}), kExitSuccess);
    EXPECT_NE(out_.str().find("etmem migrate start [options]"), std::string::npos);
    EXPECT_EQ(err_.str(), "");
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, VersionGoesToStdoutWithoutTheDaemon) {
    // The figure itself is CMake's project(VERSION): deploy.manpages compares it.
    for (std::string flag : {"--version", "-V"}) {
        EXPECT_EQ(run({flag}), kExitSuccess);
        EXPECT_TRUE(
            std::regex_match(out_.str(), std::regex("etmem [0-9]+\\.[0-9]+\\.[0-9]+\\S*\n")))
            << out_.str();
    }
    EXPECT_EQ(run({"--version", "x"}), kExitUsage);
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, UsageErrorsExitTwoWithOneLineAndNoDaemon) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"project", "add", "-n", "p"},
          {"project", "del", "-n", "p", "extra"},
          {"migrate", "start", "-x"},
          {"bogus"},
          {"project", "show", "-s", std::string(108, 'x')}}) {
        EXPECT_EQ(run(args), kExitUsage) << args[0];
        expectOneErrorLine();
        EXPECT_EQ(out_.str(), "");
    }
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, BareObjectPrintsItsHelpOnStderr) {
    EXPECT_EQ(run({}), kExitUsage);
    EXPECT_NE(err_.str().find("etmem OBJECT COMMAND"), std::string::npos);
    EXPECT_EQ(run({"migrate"}), kExitUsage);
    EXPECT_NE(err_.str().find("etmem migrate start"), std::string::npos);
    EXPECT_EQ(out_.str(), "");
}

TEST_F(CliApp, UnreadableFileIsOneLineWithPathAndReasonAndNoBusCall) {
    std::string missing = dir_ + "/missing.yaml";
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", missing}), kExitFailure);
    expectOneErrorLine();
    EXPECT_EQ(err_.str(),
              "etmem: cannot read config file '" + missing + "': No such file or directory\n");
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", dir_}), kExitFailure);
    EXPECT_NE(err_.str().find("it is a directory, not a regular file"), std::string::npos)
        << err_.str();
    EXPECT_EQ(calls_.connects, 0);
}

// A FIFO with no writer used to block `project add` forever; now it is refused at once.
TEST_F(CliApp, FifoAndDevicesAreRefusedWithoutBlocking) {
    std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", fifo}), kExitFailure);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    EXPECT_NE(err_.str().find("it is a FIFO, not a regular file"), std::string::npos) << err_.str();
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", "/dev/zero"}), kExitFailure);
    EXPECT_NE(err_.str().find("it is a character device"), std::string::npos) << err_.str();
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, FileWithoutPermissionNamesTheReason) {
    std::string path = writeFile("secret.yaml", "options:\n");
    ASSERT_EQ(::chmod(path.c_str(), 0), 0);
    auto check = [&] {
        return run({"project", "add", "-n", "p", "-f", path}) == kExitFailure &&
               err_.str().find("Permission denied") != std::string::npos && calls_.connects == 0;
    };
    if (::geteuid() != 0) {
        EXPECT_TRUE(check()) << err_.str();
        return;
    }
    // Root reads any file: run the client as nobody in a child, as a user would.
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        bool dropped = ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 &&
                       ::setresuid(65534, 65534, 65534) == 0;
        ::_exit(dropped && check() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "as nobody, an unreadable file was not reported as 'Permission denied'";
}

TEST_F(CliApp, BinaryOrNonUtf8FileIsRefusedBeforeTheBus) {
    std::string binary = writeFile("bin", std::string("options:\n\0\x01", 11));
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", binary}), kExitFailure);
    EXPECT_NE(err_.str().find("NUL byte on line 2"), std::string::npos) << err_.str();
    std::string latin1 = writeFile("latin1", "a: 1\nname: caf\xe9\n");
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", latin1}), kExitFailure);
    EXPECT_NE(err_.str().find("line 2 is not UTF-8"), std::string::npos) << err_.str();
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, HugeFileIsRefused) {
    std::string path = writeFile("huge", std::string(kMaxConfigBytes + 1, '#'));
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", path}), kExitFailure);
    EXPECT_NE(err_.str().find("larger than 1048576 bytes (1 MiB), the most etmemd accepts"),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(calls_.connects, 0);
}

// One bound on both sides (the contract's): a file the daemon would take is sent whole.
TEST_F(CliApp, FileAtTheDaemonsLimitIsSent) {
    std::string path = writeFile("limit", std::string(kMaxConfigBytes, '#'));
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", path}), kExitSuccess) << err_.str();
    EXPECT_EQ(calls_.configText.size(), kMaxConfigBytes);
}

TEST_F(CliApp, EmptyFileIsSentForTheDaemonToJudge) {
    std::string path = writeFile("empty", "");
    EXPECT_EQ(run({"project", "add", "-n", "p", "-f", path}), kExitSuccess);
    EXPECT_EQ(calls_.configText, "");
}

TEST_F(CliApp, DaemonErrorsAreOneLineExitOne) {
    failWith_ = "project 'p' is already running; stop it with 'etmem migrate stop -n p'";
    EXPECT_EQ(run({"migrate", "start", "-n", "p"}), kExitFailure);
    EXPECT_EQ(err_.str(), "etmem: " + failWith_ + "\n");
    EXPECT_EQ(out_.str(), "");
}

TEST_F(CliApp, NoDaemonIsOneLineExitOne) {
    refuseConnect_ = describeBusError("org.freedesktop.DBus.Error.ServiceUnknown", "gone",
                                      "org.openeuler.Etmem", "");
    EXPECT_EQ(run({"project", "show"}), kExitFailure);
    expectOneErrorLine();
    EXPECT_NE(err_.str().find("org.openeuler.Etmem"), std::string::npos);
}

TEST_F(CliApp, ShowRendersTableOrJson) {
    ProjectInfo p;
    p.name = "test";
    p.state = "stopped";
    p.tasks = {{"pid", "1", 1, "slide", 1}};
    projects_ = {p};
    EXPECT_EQ(run({"project", "show"}), kExitSuccess);
    EXPECT_TRUE(out_.str().starts_with("PROJECT")) << out_.str();
    EXPECT_NE(out_.str().find("test"), std::string::npos);
    EXPECT_EQ(run({"project", "show", "--json"}), kExitSuccess);
    EXPECT_TRUE(out_.str().starts_with("[")) << out_.str();
    EXPECT_NE(out_.str().find("\"name\": \"test\""), std::string::npos);
    EXPECT_EQ(run({"project", "show", "--format=openmetrics"}), kExitSuccess);
    EXPECT_NE(out_.str().find("etmem_project_running{project=\"test\"} 0\n"), std::string::npos);
    EXPECT_TRUE(out_.str().ends_with("# EOF\n"));
    EXPECT_EQ(run({"project", "show", "--format", "prometheus"}), kExitSuccess);
    EXPECT_NE(out_.str().find("# TYPE etmem_project_cycles_total counter\n"), std::string::npos);
}

TEST_F(CliApp, MetricsFormatIsCheckedBeforeTheDaemon) {
    EXPECT_EQ(run({"project", "show", "--format=xml"}), kExitUsage);
    EXPECT_NE(err_.str().find("allowed openmetrics or prometheus"), std::string::npos)
        << err_.str();
    EXPECT_EQ(run({"project", "show", "--json", "--format=prometheus"}), kExitUsage);
    EXPECT_EQ(run({"project", "add", "-n", "a", "-f", "x", "--format=prometheus"}), kExitUsage);
    EXPECT_EQ(calls_.connects, 0);
}

TEST_F(CliApp, ShowOneProjectFetchesOnlyIt) {
    ProjectInfo a;
    a.name = "a";
    ProjectInfo b;
    b.name = "b";
    projects_ = {a, b};
    EXPECT_EQ(run({"project", "show", "-n", "b", "--json"}), kExitSuccess);
    EXPECT_EQ(calls_.log, (std::vector<std::string>{"list", "details b"}));
    EXPECT_EQ(out_.str().find("\"a\""), std::string::npos);
}

TEST_F(CliApp, ShowUnknownProjectFails) {
    EXPECT_EQ(run({"project", "show", "-n", "nope"}), kExitFailure);
    EXPECT_NE(err_.str().find("no project named 'nope'"), std::string::npos);
    expectOneErrorLine();
}

TEST(CliBusErrors, EtmemErrorsPassTheDaemonsMessageThrough) {
    EXPECT_EQ(describeBusError("org.openeuler.Etmem.Error.InvalidConfig",
                               "line 3, column 5: loop: 0 is out of range 1..120", "n", ""),
              "line 3, column 5: loop: 0 is out of range 1..120");
    EXPECT_NE(
        describeBusError("org.openeuler.Etmem.Error.NoSuchProject", "", "n", "").find("no project"),
        std::string::npos);
}

TEST(CliBusErrors, NoDaemonNamesTheBusNameAndHowToStartIt) {
    for (auto name : {"org.freedesktop.DBus.Error.ServiceUnknown",
                      "org.freedesktop.DBus.Error.NameHasNoOwner"}) {
        std::string line = describeBusError(name, "x", "org.openeuler.Etmem", "");
        EXPECT_NE(line.find("org.openeuler.Etmem"), std::string::npos) << line;
        EXPECT_NE(line.find("systemctl start etmemd"), std::string::npos) << line;
    }
    std::string instance = describeBusError("org.freedesktop.DBus.Error.ServiceUnknown", "x",
                                            "org.openeuler.Etmem.i_dt_5fsocket", "dt_socket");
    EXPECT_NE(instance.find("org.openeuler.Etmem.i_dt_5fsocket"), std::string::npos);
    EXPECT_NE(instance.find("etmemd -s dt_socket"), std::string::npos) << instance;
}

TEST(CliBusErrors, OtherFailuresSayWhatToDo) {
    EXPECT_NE(describeBusError("org.freedesktop.DBus.Error.NoReply", "timeout", "n", "")
                  .find("journalctl"),
              std::string::npos);
    EXPECT_NE(
        describeBusError("org.freedesktop.DBus.Error.AccessDenied", "policy", "n", "").find("root"),
        std::string::npos);
    EXPECT_NE(describeBusError("org.freedesktop.DBus.Error.UnknownMethod", "m", "n", "")
                  .find("same version"),
              std::string::npos);
    std::string other = describeBusError("com.example.Weird", "boom", "n", "");
    EXPECT_NE(other.find("com.example.Weird"), std::string::npos);
    EXPECT_NE(other.find("boom"), std::string::npos);
    EXPECT_NE(describeConnectFailure("refused", "org.openeuler.Etmem").find("org.openeuler.Etmem"),
              std::string::npos);
}

}  // namespace
}  // namespace etmem::cli
