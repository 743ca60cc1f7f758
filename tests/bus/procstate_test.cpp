// SPDX-License-Identifier: MulanPSL-2.0
// Acting on the right processes and keeping state that cannot be lost or hang, against a
// real etmemd on a private bus: clients in other pid or cgroup namespaces, a daemon out of
// descriptors or threads, state file names, a FIFO as the lock file, 1.1's region projects
// across obj del and obj add, and control characters in names.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>

#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string show(const CommandResult& result) {
    return "exit: " + describe(result.status) + "\nstdout:\n" + result.out + "stderr:\n" +
           result.err;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A YAML config with one task per entry of `tasks` ("type: value").
std::string configOf(const std::vector<std::pair<std::string, std::string>>& tasks) {
    std::string text = "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n";
    for (const auto& [type, value] : tasks)
        text += "    - type: " + type + "\n      value: " + value +
                "\n      max_threads: 1\n      engine: slide\n      param:\n        T: 1\n";
    return text;
}

std::size_t threadsOf(pid_t pid) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task"))
        ++count;
    return count;
}

std::vector<int> openFds(pid_t pid) {
    std::vector<int> fds;
    for (const auto& entry : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd"))
        fds.push_back(std::stoi(entry.path().filename().string()));
    return fds;
}

// A cgroup (v1 pids hierarchy) whose processes may have `max` tasks (threads) in all; its
// processes go back to the root cgroup when it is destroyed.
class PidsCgroup {
  public:
    static constexpr const char* kRoot = "/sys/fs/cgroup/pids";
    static bool available() { return fs::exists(fs::path(kRoot) / "cgroup.procs"); }
    PidsCgroup() : path_(fs::path(kRoot) / ("etmem-bus-" + std::to_string(::getpid()))) {
        fs::create_directory(path_);
    }
    ~PidsCgroup() {
        std::ifstream procs(path_ / "cgroup.procs");
        for (std::string pid; std::getline(procs, pid);)
            std::ofstream(fs::path(kRoot) / "cgroup.procs") << pid << "\n";
        std::error_code ignored;
        fs::remove(path_, ignored);
    }
    void setMax(std::size_t max) { std::ofstream(path_ / "pids.max") << max << "\n"; }
    void add(pid_t pid) { std::ofstream(path_ / "cgroup.procs") << pid << "\n"; }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

class ProcessesAndState : public BusTest {
  protected:
    std::string property(const std::string& name, const std::string& key) {
        return project(name)
            ->getProperty(key)
            .onInterface(etmem::bus::kProjectInterface.data())
            .get<std::string>();
    }
    std::vector<std::uint32_t> pids(const std::string& name) {
        return project(name)
            ->getProperty("Pids")
            .onInterface(etmem::bus::kProjectInterface.data())
            .get<std::vector<std::uint32_t>>();
    }
    fs::path stateFile(const std::string& encodedName) {
        return daemon_->options().stateDir / (encodedName + ".project");
    }
};

// `unshare --pid --fork --mount-proc etmem project add` with pid 1 means the caller's pid 1,
// not the host's: refused with a reason, nothing added. Likewise a cgroup path from another
// cgroup namespace.
TEST_F(ProcessesAndState, PidsAndCgroupsOfAnotherNamespaceAreRefused) {
    const std::string pidFile = writeConfig("pid1.yaml", configOf({{"pid", "1"}}));
    auto inside = runCommand({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc",
                              programs().etmem, "project", "add", "-n", "ns-pid", "-f", pidFile},
                             bus_->environment());
    if (contains(inside.err, "unshare failed")) GTEST_SKIP() << "no pid namespaces here";
    EXPECT_NE(inside.status.code, 0) << show(inside);
    EXPECT_TRUE(contains(inside.err, "pid namespace")) << show(inside);

    const std::string cgroupFile =
        writeConfig("cgroup.yaml", configOf({{"cgroup", "system.slice/x.service"}}));
    auto cgroupInside = runCommand({"/usr/bin/unshare", "--cgroup", "--fork", programs().etmem,
                                    "project", "add", "-n", "ns-cgroup", "-f", cgroupFile},
                                   bus_->environment());
    EXPECT_NE(cgroupInside.status.code, 0) << show(cgroupInside);
    EXPECT_TRUE(contains(cgroupInside.err, "cgroup namespace")) << show(cgroupInside);
    EXPECT_TRUE(listProjects().empty());

    // From etmemd's own namespaces the same files are taken.
    auto host = etmem({"project", "add", "-n", "host-cgroup", "-f", cgroupFile});
    EXPECT_TRUE(host.status.success()) << show(host);
}

// Out of descriptors, a name task does not take its targets for exited: LastError and the
// journal say "Too many open files"; with descriptors back, every target is held again.
TEST_F(ProcessesAndState, RunningOutOfDescriptorsIsSaid) {
    const fs::path sleeper = *dir_ / "etm-fd-sleep";
    fs::copy_file("/bin/sleep", sleeper);
    std::vector<Process> targets;
    for (int i = 0; i < 16; ++i)
        targets.push_back(Process::spawn({sleeper.string(), "100000"}, currentEnvironment()));
    const pid_t daemon = daemon_->process().pid();
    rlimit saved{};
    ASSERT_EQ(::prlimit(daemon, RLIMIT_NOFILE, nullptr, &saved), 0);
    rlimit low = saved;
    // New descriptors take the lowest free numbers: a few are left below the limit.
    const std::vector<int> fds = openFds(daemon);
    low.rlim_cur = static_cast<rlim_t>(fds.size() + 3);
    ASSERT_EQ(::prlimit(daemon, RLIMIT_NOFILE, &low, nullptr), 0);

    addProject("fd", configOf({{"name", "etm-fd-sleep"}}));
    callManager("StartProject", "fd");
    EXPECT_TRUE(
        eventually([&] { return contains(property("fd", "LastError"), "Too many open"); }, 5s))
        << property("fd", "LastError") << "\nopen descriptors: " << fds.size();
    EXPECT_TRUE(contains(property("fd", "LastError"), "LimitNOFILE="));
    EXPECT_TRUE(contains(daemon_->log(), "Too many open files")) << daemon_->log();

    ASSERT_EQ(::prlimit(daemon, RLIMIT_NOFILE, &saved, nullptr), 0);
    EXPECT_TRUE(eventually([&] { return pids("fd").size() == 16; }, 6s)) << pids("fd").size();
}

// A start that cannot get its threads fails, saved as not running; a restart that cannot get
// them shows that project failed and runs the others. etmemd never exits for it.
TEST_F(ProcessesAndState, RunningOutOfThreadsFailsOneProjectNotTheDaemon) {
    if (!PidsCgroup::available()) GTEST_SKIP() << "no cgroup v1 pids hierarchy here";
    PidsCgroup cgroup;
    const pid_t daemon = daemon_->process().pid();
    cgroup.setMax(threadsOf(daemon) + 3);
    cgroup.add(daemon);

    const std::string target = std::to_string(target_.pid());
    std::vector<std::pair<std::string, std::string>> many(12, {"pid", target});
    addProject("a-big", configOf(many));
    addProject("b-small", configOf({{"pid", target}}));
    auto started = outcomeOf([&] { callManager("StartProject", "a-big"); });
    EXPECT_TRUE(started.failed());
    EXPECT_TRUE(contains(started.message, "cannot start a thread")) << started.message;
    EXPECT_EQ(projectState("a-big"), "failed");
    EXPECT_TRUE(contains(property("a-big", "LastError"), "pids.max"));
    EXPECT_TRUE(contains(readFile(stateFile("a_2dbig")), "running: false"));
    callManager("StartProject", "b-small");
    EXPECT_EQ(projectState("b-small"), "running");

    // Saved as running (as after a host change): the restart is in the same cgroup.
    std::string saved = readFile(stateFile("a_2dbig"));
    saved.replace(saved.find("running: false"), 14, "running: true");
    ASSERT_TRUE(daemon_->terminate(5s));
    writeFile(stateFile("a_2dbig"), saved);
    const fs::path wrapper = *dir_ / "etmemd-in-cgroup";
    writeFile(wrapper, "#!/bin/sh\necho $$ > " + (cgroup.path() / "cgroup.procs").string() +
                           " || exit 97\nexec " + programs().etmemd + " \"$@\"\n");
    fs::permissions(wrapper, fs::perms::owner_all);
    Programs inCgroup = programs();
    inCgroup.etmemd = wrapper.string();
    const DaemonOptions options = daemon_->options();
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(inCgroup, *bus_, options);
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    EXPECT_EQ(projectState("a-big"), "failed");
    EXPECT_TRUE(contains(property("a-big", "LastError"), "cannot start a thread"));
    EXPECT_EQ(projectState("b-small"), "running");
    EXPECT_TRUE(daemon_->process().alive());
}

// Two long names that one state file would hold: the second is refused at add time with a
// reason, and the first is still there after a restart.
TEST_F(ProcessesAndState, NamesSharingAStateFileAreRefused) {
    const std::string first = std::string(239, 'a') + "d9d0833d5010f535";
    const std::string second = std::string(239, 'a') + "d760242b9663e59f";  // same FNV-1a
    addProject(first, validConfig());
    auto refused = outcomeOf([&] { addProject(second, validConfig()); });
    EXPECT_TRUE(refused.failed());
    EXPECT_TRUE(contains(refused.message, "cannot be saved apart")) << refused.message;
    ASSERT_TRUE(daemon_->terminate(5s));
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    const auto projects = listProjects();
    ASSERT_EQ(projects.size(), 1u);
    EXPECT_EQ(std::get<0>(projects[0]), first);
}

// A FIFO at <state>/.lock: etmemd says so and exits at once instead of blocking in open().
TEST_F(ProcessesAndState, AFifoAsTheLockFileStopsTheStartWithAReason) {
    const fs::path stateDir = *dir_ / "state-fifo";
    fs::create_directories(stateDir);
    ASSERT_EQ(::mkfifo((stateDir / ".lock").c_str(), 0600), 0);
    auto daemon = startDaemon("fifo", {"-s", "fifo"});
    auto status = daemon->process().waitFor(5s);
    ASSERT_TRUE(status.has_value()) << "etmemd blocked on the FIFO; its log:\n" << daemon->log();
    EXPECT_FALSE(status->success());
    EXPECT_TRUE(contains(daemon->log(), "is not a regular file")) << daemon->log();
}

// 1.1's region project: obj del of its last task keeps its scan type and region keys, and a
// task added later, after a restart too, scans regions.
TEST_F(ProcessesAndState, RegionProjectKeepsItsKeysAcrossObjDelAndObjAdd) {
    const std::string projectFile =
        writeConfig("proj.config",
                    "[project]\nname=r\nscan_type=region\nloop=1\ninterval=1\nsleep=1\n"
                    "sample_interval=5000\naggr_interval=100000\n");
    auto taskFile = [&](const std::string& name) {
        return writeConfig(name + ".config",
                           "[task]\nproject=r\nengine=slide\nname=" + name +
                               "\ntype=pid\nvalue=" + std::to_string(target_.pid()) + "\nT=1\n");
    };
    for (const std::string& file :
         {projectFile, writeConfig("eng.config", "[engine]\nname=slide\nproject=r\n"),
          taskFile("t1")}) {
        auto added = etmem({"obj", "add", "-f", file});
        ASSERT_TRUE(added.status.success()) << file << "\n" << show(added);
    }
    auto deleted = etmem({"obj", "del", "-f", taskFile("t1")});
    ASSERT_TRUE(deleted.status.success()) << show(deleted);
    const std::string saved = readFile(stateFile("r"));
    EXPECT_TRUE(contains(saved, "scan_type=region")) << saved;
    EXPECT_TRUE(contains(saved, "sample_interval=5000")) << saved;
    EXPECT_TRUE(contains(saved, "aggr_interval=100000")) << saved;

    ASSERT_TRUE(daemon_->terminate(5s));
    restartDaemon();
    ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    auto added = etmem({"obj", "add", "-f", taskFile("t2")});
    ASSERT_TRUE(added.status.success()) << show(added);
    const std::string config = property("r", "Config");
    EXPECT_TRUE(contains(config, "scanner: damon")) << config;
    EXPECT_TRUE(contains(config, "sample_interval: 5000")) << config;
}

// A C1 control character (U+009B, CSI) in a name is shown as '?' as ASCII's are.
TEST_F(ProcessesAndState, UnicodeControlCharactersInNamesAreNotPrinted) {
    addProject("c1\u009b31mname\u0085", validConfig());
    auto shown = etmem({"project", "show"});
    ASSERT_TRUE(shown.status.success()) << show(shown);
    EXPECT_FALSE(contains(shown.out, "\u009b")) << shown.out;
    EXPECT_FALSE(contains(shown.out, "\u0085")) << shown.out;
    EXPECT_TRUE(contains(shown.out, "c1?31mname?")) << shown.out;
}

}  // namespace
}  // namespace etmem::test
