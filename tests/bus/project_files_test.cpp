// SPDX-License-Identifier: MulanPSL-2.0
// Declarative projects: files in <configuration directory>/projects.d are projects, brought
// in line at start, on the Manager's Reload and on SIGHUP; the API cannot delete or change
// them; they are never saved in the state directory, and a restart brings the same set.
#include <csignal>

#include "polkit_fixture.hpp"

namespace etmem::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using FailureRow = sdbus::Struct<std::string, uint32_t, std::string, std::string>;

struct Reloaded {
    std::vector<std::string> added, changed, removed, unchanged;
    std::vector<FailureRow> failed;
};

class ProjectFiles : public BusTest {
  protected:
    Environment daemonExtraEnv() const override {
        return {{"CONFIGURATION_DIRECTORY", configDir().string()}};
    }
    fs::path configDir() const { return *dir_ / "conf"; }
    fs::path projectsDir() const { return configDir() / "projects.d"; }

    fs::path writeProject(const std::string& fileName, const std::string& text) {
        fs::create_directories(projectsDir());
        // Written aside and renamed in, as configuration management does: a reload never
        // reads half a file.
        const fs::path path = projectsDir() / fileName;
        writeFile(projectsDir() / ("." + fileName + ".tmp"), text);
        fs::rename(projectsDir() / ("." + fileName + ".tmp"), path);
        return path;
    }
    std::string config(unsigned interval = 1) const { return validConfig(interval); }

    // Ends the daemon and starts it again on the same state and configuration directories.
    void restartWithFiles() {
        auto options = daemon_->options();
        ASSERT_TRUE(daemon_->terminate(10s).has_value());
        daemon_.reset();
        daemon_ = std::make_unique<Daemon>(programs(), *bus_, options,
                                           DaemonExtras{daemonExtraEnv(), {}});
        ASSERT_TRUE(daemon_->waitReady()) << daemon_->log();
    }

    Reloaded reload() {
        Reloaded r;
        manager()
            ->callMethod("Reload")
            .onInterface(etmem::bus::kManagerInterface.data())
            .storeResultsTo(r.added, r.changed, r.removed, r.unchanged, r.failed);
        return r;
    }

    template <typename T>
    T property(const std::string& name, const std::string& property) {
        return project(name)
            ->getProperty(property)
            .onInterface(etmem::bus::kProjectInterface.data())
            .get<T>();
    }
    std::string source(const std::string& name) { return property<std::string>(name, "Source"); }
    std::string lastError(const std::string& name) {
        return property<std::string>(name, "LastError");
    }
    std::string normalizedConfig(const std::string& name) {
        return property<std::string>(name, "Config");
    }
    std::vector<FailureRow> reloadErrors() {
        return manager()
            ->getProperty("ReloadErrors")
            .onInterface(etmem::bus::kManagerInterface.data())
            .get<std::vector<FailureRow>>();
    }

    std::set<std::string> projectNames() {
        std::set<std::string> names;
        for (const auto& entry : listProjects()) names.insert(std::get<0>(entry));
        return names;
    }
    bool waitForCycles(const std::string& name, std::uint64_t atLeast,
                       std::chrono::milliseconds timeout = 10s) {
        return eventually([&] { return projectCycles(name) >= atLeast; }, timeout);
    }
    // What the state directory holds besides its lock.
    std::vector<std::string> stateFiles() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(daemon_->options().stateDir))
            if (entry.path().filename() != ".lock")
                names.push_back(entry.path().filename().string());
        return names;
    }
    std::string iniProject(const std::string& name) const {
        return "[project]\nname=" + name +
               "\nloop=1\ninterval=1\nsleep=1\n\n[engine]\nname=slide\nproject=" + name +
               "\n\n[task]\nproject=" + name +
               "\nengine=slide\nname=t\ntype=pid\nvalue=" + std::to_string(target_.pid()) +
               "\nT=1\n";
    }
};

std::string show(const CommandResult& result) {
    return "status " + describe(result.status) + "\nstdout:\n" + result.out + "stderr:\n" +
           result.err;
}

TEST_F(ProjectFiles, FilesAtStartAreRunningProjectsNamedAfterTheirFilesAndNeverSaved) {
    const fs::path a = writeProject("alpha.yaml", config());
    const fs::path b = writeProject("beta.conf", iniProject("named-otherwise"));
    writeProject("notes.txt", "not a project");
    writeProject("alpha.yaml~", "an editor's backup");
    restartWithFiles();

    EXPECT_EQ(projectNames(), (std::set<std::string>{"alpha", "beta"}));
    EXPECT_TRUE(waitForState("alpha", "running"));
    EXPECT_TRUE(waitForState("beta", "running"));
    EXPECT_EQ(source("alpha"), "file:" + a.string());
    EXPECT_EQ(source("beta"), "file:" + b.string());
    EXPECT_TRUE(waitForCycles("alpha", 1));
    EXPECT_TRUE(stateFiles().empty()) << "file projects are not saved";

    auto shown = etmem({"project", "show", "-n", "alpha"});
    ASSERT_TRUE(shown.status.success()) << show(shown);
    EXPECT_NE(shown.out.find("source: file:" + a.string()), std::string::npos) << shown.out;
    auto json = etmem({"project", "show", "--json"});
    ASSERT_TRUE(json.status.success()) << show(json);
    EXPECT_NE(json.out.find("\"source\": \"file:" + a.string() + "\""), std::string::npos)
        << json.out;
    EXPECT_EQ(manager()
                  ->getProperty("ProjectFilesDirectory")
                  .onInterface(etmem::bus::kManagerInterface.data())
                  .get<std::string>(),
              projectsDir().string());
}

TEST_F(ProjectFiles, ApiProjectsSayApi) {
    addProject("imperative", config());
    EXPECT_EQ(source("imperative"), "api");
}

TEST_F(ProjectFiles, ReloadAddsChangesRemovesAndLeavesUnchangedProjectsRunning) {
    writeProject("steady.yaml", config());
    writeProject("edited.yaml", config());
    writeProject("dropped.yaml", config());
    restartWithFiles();
    ASSERT_TRUE(waitForCycles("steady", 2));
    ASSERT_TRUE(waitForCycles("edited", 1));

    writeProject("edited.yaml", config(2));
    writeProject("fresh.yml", config());
    fs::remove(projectsDir() / "dropped.yaml");
    const std::uint64_t steadyBefore = projectCycles("steady");
    const Reloaded r = reload();
    EXPECT_EQ(r.added, (std::vector<std::string>{"fresh"}));
    EXPECT_EQ(r.changed, (std::vector<std::string>{"edited"}));
    EXPECT_EQ(r.removed, (std::vector<std::string>{"dropped"}));
    EXPECT_EQ(r.unchanged, (std::vector<std::string>{"steady"}));
    EXPECT_TRUE(r.failed.empty());

    EXPECT_EQ(projectNames(), (std::set<std::string>{"edited", "fresh", "steady"}));
    EXPECT_TRUE(waitForState("fresh", "running"));
    EXPECT_TRUE(waitForState("edited", "running"));
    EXPECT_NE(normalizedConfig("edited").find("interval: 2"), std::string::npos)
        << normalizedConfig("edited");
    // The unchanged project was not restarted: its cycle counter went on from where it was.
    EXPECT_GE(projectCycles("steady"), steadyBefore);
    EXPECT_TRUE(waitForCycles("steady", steadyBefore + 1));
    EXPECT_TRUE(stateFiles().empty());

    // Nothing changed: everything unchanged, nothing restarted.
    const Reloaded again = reload();
    EXPECT_TRUE(again.added.empty() && again.changed.empty() && again.removed.empty());
    EXPECT_EQ(again.unchanged.size(), 3u);
}

TEST_F(ProjectFiles, ABrokenFileKeepsThePreviousProjectRunningAndTheReplySaysWhereAndWhy) {
    const fs::path path = writeProject("kept.yaml", config());
    restartWithFiles();
    ASSERT_TRUE(waitForCycles("kept", 1));

    std::string broken = config();
    broken.replace(broken.find("loop: 1"), 7, "loop: 0");
    writeProject("kept.yaml", broken);
    writeProject("newbad.yaml", "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies: 3\n");
    const std::uint64_t before = projectCycles("kept");
    const Reloaded r = reload();
    EXPECT_TRUE(r.changed.empty());
    ASSERT_EQ(r.failed.size(), 2u);
    const FailureRow& kept = r.failed[0];
    EXPECT_EQ(std::get<0>(kept), path.string());
    EXPECT_EQ(std::get<1>(kept), 2u) << std::get<3>(kept);
    EXPECT_EQ(std::get<2>(kept), "options.loop");
    EXPECT_NE(std::get<3>(kept).find("out of range"), std::string::npos) << std::get<3>(kept);
    EXPECT_EQ(std::get<0>(r.failed[1]), (projectsDir() / "newbad.yaml").string());
    EXPECT_EQ(projectNames(), (std::set<std::string>{"kept"})) << "no project from a bad file";
    EXPECT_EQ(reloadErrors().size(), 2u);

    // The old text runs on, and LastError says why the new one is not in force.
    EXPECT_EQ(projectState("kept"), "running");
    EXPECT_TRUE(waitForCycles("kept", before + 1));
    EXPECT_NE(lastError("kept").find(path.string()), std::string::npos) << lastError("kept");
    EXPECT_NE(lastError("kept").find("options.loop"), std::string::npos) << lastError("kept");

    // The CLI prints the file, line and key, and fails.
    auto cli = etmem({"reload"});
    EXPECT_EQ(cli.status.code, 1) << show(cli);
    EXPECT_NE(cli.out.find("refused: " + path.string() + ": line 2, column 9: options.loop: "),
              std::string::npos)
        << show(cli);
    EXPECT_NE(daemon_->log().find("project file refused"), std::string::npos);

    // Fixed: in force again, the error gone.
    writeProject("kept.yaml", config());
    fs::remove(projectsDir() / "newbad.yaml");
    const Reloaded fixed = reload();
    EXPECT_TRUE(fixed.failed.empty());
    EXPECT_EQ(fixed.unchanged, (std::vector<std::string>{"kept"}));
    // (The cycles' own errors, say "no swap device", may stay: only the file's is gone.)
    EXPECT_EQ(lastError("kept").find(path.string()), std::string::npos) << lastError("kept");
    EXPECT_TRUE(reloadErrors().empty());
    auto ok = etmem({"reload"});
    EXPECT_TRUE(ok.status.success()) << show(ok);
}

TEST_F(ProjectFiles, TheApiCannotDeleteOrChangeAFileProjectButMayStopAndStartIt) {
    const fs::path path = writeProject("owned.yaml", config());
    restartWithFiles();
    ASSERT_TRUE(waitForState("owned", "running"));

    auto removed = outcomeOf([&] { callManager("RemoveProject", "owned"); });
    EXPECT_EQ(removed.name, etmem::bus::errorName(etmem::bus::ErrorKind::InvalidArgument));
    EXPECT_NE(removed.message.find(path.string()), std::string::npos) << removed.message;
    auto viaBusctl =
        busctl({"call", defaultBusName(), managerPath(), std::string(etmem::bus::kManagerInterface),
                "RemoveProject", "s", "owned"});
    EXPECT_FALSE(viaBusctl.status.success()) << show(viaBusctl);
    EXPECT_NE(viaBusctl.err.find(path.string()), std::string::npos) << show(viaBusctl);
    auto viaCli = etmem({"project", "del", "-n", "owned"});
    EXPECT_FALSE(viaCli.status.success());
    EXPECT_NE(viaCli.err.find(path.string()), std::string::npos) << show(viaCli);

    auto added = outcomeOf([&] { addProject("owned", config()); });
    EXPECT_EQ(added.name, etmem::bus::errorName(etmem::bus::ErrorKind::ProjectExists));
    EXPECT_NE(added.message.find(path.string()), std::string::npos) << added.message;
    // etmem 1.1's obj add of tasks to it changes its config: refused too.
    auto objects = outcomeOf([&] {
        manager()
            ->callMethod("AddObjects")
            .onInterface(etmem::bus::kManagerInterface.data())
            .withArguments("[task]\nproject=owned\nengine=slide\nname=more\ntype=pid\nvalue=" +
                           std::to_string(target_.pid()) + "\nT=1\n");
    });
    EXPECT_EQ(objects.name, etmem::bus::errorName(etmem::bus::ErrorKind::InvalidArgument));
    EXPECT_NE(objects.message.find(path.string()), std::string::npos) << objects.message;
    EXPECT_EQ(projectState("owned"), "running");

    // Stop and start are allowed, and not saved.
    callManager("StopProject", "owned");
    EXPECT_EQ(projectState("owned"), "stopped");
    callManager("StartProject", "owned");
    EXPECT_EQ(projectState("owned"), "running");
    EXPECT_TRUE(stateFiles().empty());
}

TEST_F(ProjectFiles, AFileDoesNotTakeTheNameOfAnApiProject) {
    addProject("taken", config());
    writeProject("taken.yaml", config(3));
    const Reloaded r = reload();
    ASSERT_EQ(r.failed.size(), 1u);
    EXPECT_NE(std::get<3>(r.failed[0]).find("added over the API"), std::string::npos)
        << std::get<3>(r.failed[0]);
    EXPECT_EQ(source("taken"), "api");
    EXPECT_EQ(normalizedConfig("taken").find("interval: 3"), std::string::npos);

    // After a restart too: the saved project comes first, the file is refused again.
    restartWithFiles();
    EXPECT_EQ(source("taken"), "api");
    EXPECT_EQ(reloadErrors().size(), 1u);
}

TEST_F(ProjectFiles, TwoFilesForOneNameAreBothRefused) {
    writeProject("twin.yaml", config());
    writeProject("twin.conf", iniProject("twin"));
    const Reloaded r = reload();
    ASSERT_EQ(r.failed.size(), 2u);
    for (const auto& failure : r.failed) {
        EXPECT_NE(std::get<3>(failure).find("twin.yaml"), std::string::npos);
        EXPECT_NE(std::get<3>(failure).find("twin.conf"), std::string::npos);
    }
    EXPECT_TRUE(projectNames().empty());
}

TEST_F(ProjectFiles, SighupReloads) {
    writeProject("hup.yaml", config());
    ASSERT_EQ(::kill(daemon_->process().pid(), SIGHUP), 0);
    EXPECT_TRUE(eventually([&] { return projectNames().contains("hup"); }, 5s)) << daemon_->log();
    EXPECT_TRUE(waitForState("hup", "running"));
}

TEST_F(ProjectFiles, ARestartBringsTheSameSet) {
    writeProject("one.yaml", config());
    writeProject("two.conf", iniProject("two"));
    addProject("three", config());
    callManager("StartProject", "three");
    ASSERT_TRUE(reload().failed.empty());
    callManager("StopProject", "one");  // not saved: a restart runs it again
    ASSERT_EQ(stateFiles().size(), 1u) << "only the API project is saved";

    restartWithFiles();
    EXPECT_EQ(projectNames(), (std::set<std::string>{"one", "three", "two"}));
    for (const std::string name : {"one", "two", "three"})
        EXPECT_TRUE(waitForState(name, "running")) << name;
    EXPECT_EQ(source("three"), "api");
    EXPECT_EQ(source("two"), "file:" + (projectsDir() / "two.conf").string());
}

// polkit's rules: "nobody" may reload, and do nothing else; everyone else falls to the
// actions' default, auth_admin_keep, which without an agent is a refusal.
constexpr const char* kReloadOnlyRules = R"js(
polkit.addRule(function(action, subject) {
    if (action.id == "org.openeuler.etmem.reload" && subject.user == "nobody") {
        return polkit.Result.YES;
    }
});
)js";

class ReloadAuthorization : public WithPolkit {
  protected:
    Environment daemonExtraEnv() const override {
        return {{"CONFIGURATION_DIRECTORY", (*dir_ / "conf").string()}};
    }
    void SetUp() override {
        WithPolkit::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        startPolkitd(kReloadOnlyRules);
    }
    CommandResult busctlAs(const std::string& user, const std::vector<std::string>& args) {
        std::vector<std::string> argv{programs().busctl, "--address=" + bus_->address(),
                                      "--timeout=60", "--allow-interactive-authorization=no"};
        argv.insert(argv.end(), args.begin(), args.end());
        return runCommand(asUser(user, argv), bus_->environment(), 70s);
    }
    std::vector<std::string> managerCall(const std::string& method) {
        return {"call", defaultBusName(), managerPath(), std::string(etmem::bus::kManagerInterface),
                method};
    }
};

TEST_F(ReloadAuthorization, ItsOwnActionAllowsReloadingAndNothingElse) {
    fs::create_directories(*dir_ / "conf" / "projects.d");
    writeFile(*dir_ / "conf" / "projects.d" / "granted.yaml", validConfig());

    auto denied = busctlAs("daemon", managerCall("Reload"));
    EXPECT_FALSE(denied.status.success()) << show(denied);
    EXPECT_NE(denied.err.find("org.openeuler.etmem.reload"), std::string::npos) << show(denied);
    EXPECT_TRUE(listProjects().empty());

    auto allowed = busctlAs("nobody", managerCall("Reload"));
    EXPECT_TRUE(allowed.status.success()) << show(allowed);
    EXPECT_NE(allowed.out.find("\"granted\""), std::string::npos) << show(allowed);
    EXPECT_EQ(listProjects().size(), 1u);

    // The reload action is not the manage action.
    auto stop = busctlAs(
        "nobody", {"call", defaultBusName(), managerPath(),
                   std::string(etmem::bus::kManagerInterface), "StopProject", "s", "granted"});
    EXPECT_FALSE(stop.status.success()) << show(stop);
    EXPECT_NE(stop.err.find("org.openeuler.etmem.manage"), std::string::npos) << show(stop);
    EXPECT_EQ(projectState("granted"), "running");
}

}  // namespace
}  // namespace etmem::test
