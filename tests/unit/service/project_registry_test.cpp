// SPDX-License-Identifier: MulanPSL-2.0
#include "project_registry.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <deque>
#include <fstream>
#include <thread>

namespace etmem::service {
namespace {

using namespace std::chrono_literals;

std::string configFor(pid_t pid) {
    return "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
           "    value: " +
           std::to_string(pid) +
           "\n    max_threads: 1\n    engine: slide\n    param:\n      T: 1\n";
}

struct Events : RegistryListener {
    std::vector<std::string> seen;
    void projectAdded(const Project& p) override { seen.push_back("added " + p.name); }
    void projectRemoved(const std::string& n) override { seen.push_back("removed " + n); }
    void stateChanged(const Project& p) override {
        seen.push_back("state " + p.name + " " + std::string(toString(p.state)));
    }
    void statsChanged(const Project& p) override { seen.push_back("stats " + p.name); }
};

class RegistryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/etmem-registry-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
        // A process of its own to target: the registry refuses to target itself.
        target_ = ::fork();
        ASSERT_GE(target_, 0);
        if (target_ == 0) {
            ::pause();
            ::_exit(0);
        }
        store_ = std::make_unique<StateStore>(dir_, logger_);
        registry_ = makeRegistry();
    }
    void TearDown() override {
        registry_.reset();
        std::filesystem::remove_all(dir_);
        if (target_ > 0) {
            ::kill(target_, SIGKILL);
            ::waitpid(target_, nullptr, 0);
        }
    }
    std::unique_ptr<ProjectRegistry> makeRegistry() {
        auto registry = std::make_unique<ProjectRegistry>(
            *store_, logger_, makeObserveOnlyEngine,
            [this](std::function<void()> work) {
                std::lock_guard lock(postedMutex_);
                posted_.push_back(std::move(work));
            },
            2);
        registry->setListener(&events_);
        return registry;
    }
    // What the event loop would do: run what the workers posted.
    void runPosted() {
        std::deque<std::function<void()>> batch;
        {
            std::lock_guard lock(postedMutex_);
            batch.swap(posted_);
        }
        for (auto& work : batch) work();
    }
    ErrorKind errorOf(const std::function<void()>& call) {
        try {
            call();
        } catch (const ServiceError& e) {
            return e.kind();
        }
        ADD_FAILURE() << "no ServiceError thrown";
        return ErrorKind::Failed;
    }

    std::filesystem::path dir_;
    pid_t target_ = 0;
    NullLogger logger_;
    Events events_;
    std::unique_ptr<StateStore> store_;
    std::unique_ptr<ProjectRegistry> registry_;
    std::mutex postedMutex_;
    std::deque<std::function<void()>> posted_;
};

TEST_F(RegistryTest, AddSavesAndAnnounces) {
    const Project& project = registry_->add("p1", configFor(target_));
    EXPECT_EQ(project.state, ProjectState::Stopped);
    EXPECT_EQ(project.config.tasks.size(), 1u);
    EXPECT_TRUE(std::filesystem::exists(store_->fileFor("p1")));
    EXPECT_EQ(events_.seen, std::vector<std::string>{"added p1"});
    EXPECT_EQ(registry_->summary(), "1 project: 0 running, 1 stopped");
}

TEST_F(RegistryTest, RejectedAddsChangeNothing) {
    registry_->add("p1", configFor(target_));
    events_.seen.clear();
    EXPECT_EQ(errorOf([&] { registry_->add("p1", configFor(1)); }), ErrorKind::ProjectExists);
    EXPECT_EQ(errorOf([&] { registry_->add("p2", "options:\n  loop: 0\n"); }),
              ErrorKind::InvalidConfig);
    EXPECT_EQ(errorOf([&] { registry_->add("", configFor(1)); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(errorOf([&] { registry_->add("a/b", configFor(1)); }), ErrorKind::InvalidArgument);
    EXPECT_EQ(registry_->list().size(), 1u);
    EXPECT_EQ(store_->load().projects.size(), 1u);
    EXPECT_TRUE(events_.seen.empty());
}

TEST_F(RegistryTest, InvalidConfigMessageSaysWhere) {
    try {
        registry_->add("p", "options:\n  loop: 0\n");
        FAIL();
    } catch (const ServiceError& e) {
        EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("'p'"), std::string::npos) << e.what();
    }
}

TEST_F(RegistryTest, StartStopAndTheirErrors) {
    registry_->add("p", configFor(target_));
    EXPECT_EQ(errorOf([&] { registry_->stop("p"); }), ErrorKind::NotRunning);
    registry_->start("p");
    EXPECT_EQ(registry_->get("p").state, ProjectState::Running);
    EXPECT_TRUE(store_->load().projects.at(0).running);
    EXPECT_EQ(errorOf([&] { registry_->start("p"); }), ErrorKind::AlreadyRunning);
    registry_->stop("p");
    EXPECT_EQ(registry_->get("p").state, ProjectState::Stopped);
    EXPECT_FALSE(store_->load().projects.at(0).running);
    EXPECT_EQ(errorOf([&] { registry_->start("nope"); }), ErrorKind::NoSuchProject);
    EXPECT_EQ(errorOf([&] { registry_->remove("nope"); }), ErrorKind::NoSuchProject);
}

TEST_F(RegistryTest, RunningProjectCountsCyclesAndResolvesPids) {
    registry_->add("p", configFor(target_));
    registry_->start("p");
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (registry_->get("p").stats.cycles == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
        runPosted();
    }
    EXPECT_GE(registry_->get("p").stats.cycles, 1u);
    EXPECT_EQ(registry_->get("p").stats.pids, std::vector<pid_t>{target_});
    EXPECT_GE(registry_->get("p").stats.lastCycleUSec, 1000000u);
}

TEST_F(RegistryTest, RemoveStopsARunningProject) {
    registry_->add("p", configFor(target_));
    registry_->start("p");
    auto start = std::chrono::steady_clock::now();
    registry_->remove("p");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(registry_->find("p"), nullptr);
    EXPECT_TRUE(store_->load().projects.empty());
    runPosted();  // reports of the removed run are ignored
}

TEST_F(RegistryTest, RestoreBringsBackProjectsAndRunningState) {
    registry_->add("run", configFor(target_));
    registry_->add("idle", configFor(target_));
    registry_->start("run");
    registry_->shutdown();  // as on SIGTERM: saved state says "run" still runs
    registry_ = makeRegistry();
    registry_->restore();
    ASSERT_EQ(registry_->list().size(), 2u);
    EXPECT_EQ(registry_->get("run").state, ProjectState::Running);
    EXPECT_EQ(registry_->get("idle").state, ProjectState::Stopped);
}

TEST_F(RegistryTest, FailedSaveLeavesTheProjectAsItWas) {
    registry_->add("p", configFor(target_));
    // Make the state directory unusable even for root: replace it with a file.
    std::filesystem::remove_all(dir_);
    std::ofstream(dir_) << "not a directory";
    EXPECT_EQ(errorOf([&] { registry_->start("p"); }), ErrorKind::Failed);
    EXPECT_EQ(registry_->get("p").state, ProjectState::Stopped);
    EXPECT_EQ(errorOf([&] { registry_->add("q", configFor(1)); }), ErrorKind::Failed);
    EXPECT_EQ(registry_->find("q"), nullptr);
    std::filesystem::remove(dir_);
}

// Saved files are checked as AddProject checks its input, and one that fails never keeps
// the others (or the daemon) from starting: it is set aside.
TEST_F(RegistryTest, SavedFileIsCheckedLikeAddAndSetAsideWhenRefused) {
    registry_->add("good", configFor(target_));
    store_->save({"caf\xe9", configFor(target_), true});  // a name the bus cannot carry
    store_->save({"bad-config", "options:\n  loop: 0\n", false});
    registry_ = makeRegistry();
    registry_->restore();
    ASSERT_EQ(registry_->list().size(), 1u);
    EXPECT_NE(registry_->find("good"), nullptr);
    int damaged = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        damaged += entry.path().filename().string().find(".project.damaged-") != std::string::npos;
    EXPECT_EQ(damaged, 2);
    EXPECT_EQ(store_->load().projects.size(), 1u);
}

// A file that cannot be read is kept and shown failed; it cannot be started.
TEST_F(RegistryTest, UnreadableFileIsShownFailedAndKept) {
    std::filesystem::create_symlink("/proc/self/mem", dir_ / "lost.project");
    registry_->restore();
    const Project& lost = registry_->get("lost");
    EXPECT_EQ(lost.state, ProjectState::Failed);
    EXPECT_NE(lost.stats.lastError.find("could not be read"), std::string::npos)
        << lost.stats.lastError;
    EXPECT_EQ(errorOf([&] { registry_->start("lost"); }), ErrorKind::Failed);
    EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "lost.project"));
}

// max_threads above what the host allows (2 * cores + 1): like etmem 1.1, the project is
// accepted and runs with the bound, the warning in LastError and the journal; the config
// keeps the value as written (a saved project restored on a bigger host runs it so).
TEST_F(RegistryTest, MaxThreadsAboveTheHostIsLoweredWithAWarning) {
    std::string config = configFor(target_);
    config.replace(config.find("max_threads: 1"), 14, "max_threads: 9");  // 2 cores allow 5
    registry_->add("big", config);
    EXPECT_EQ(registry_->get("big").config.tasks.at(0).maxThreads, 9u);
    store_->save({"big", config, true});
    registry_ = makeRegistry();
    registry_->restore();
    const Project& big = registry_->get("big");
    EXPECT_EQ(big.state, ProjectState::Running);
    EXPECT_EQ(big.stats.lastError,
              "warning: options.policies.max_threads: value 9 is more than this machine "
              "allows; 5 used (2*cores+1 with 2 cores)");
    EXPECT_EQ(big.config.tasks.at(0).maxThreads, 9u);
}

// Stop and remove are how an operator gets out of trouble: they work when nothing can be
// saved, and say what was not.
TEST_F(RegistryTest, StopAndRemoveWorkWhenStateCannotBeSaved) {
    registry_->add("p", configFor(target_));
    registry_->add("q", configFor(target_));
    registry_->start("p");
    std::filesystem::remove_all(dir_);
    std::ofstream(dir_) << "not a directory";
    try {
        registry_->stop("p");
        FAIL() << "stop reported no trouble";
    } catch (const ServiceError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::Failed);
        EXPECT_NE(std::string(e.what()).find("is stopped, but that could not be saved"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(registry_->get("p").state, ProjectState::Stopped);
    try {
        registry_->remove("q");
        FAIL() << "remove reported no trouble";
    } catch (const ServiceError& e) {
        EXPECT_NE(std::string(e.what()).find("is deleted and stopped, but its state file could "
                                             "not be deleted"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(registry_->find("q"), nullptr);
    std::filesystem::remove(dir_);
}

TEST_F(RegistryTest, TaskTargetingEtmemdItselfIsRefused) {
    try {
        registry_->add("self", configFor(::getpid()));
        FAIL() << "a task naming etmemd's own pid was accepted";
    } catch (const ServiceError& e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidConfig);
        EXPECT_NE(std::string(e.what()).find("targets etmemd itself"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(registry_->find("self"), nullptr);
}

struct BatchCounter : Events {
    int begins = 0, ends = 0;
    std::size_t addedBeforeEnd = 0;
    void beginBatch() override { ++begins; }
    void endBatch() override { ++ends, addedBeforeEnd = seen.size(); }
};

TEST_F(RegistryTest, RestoreIsOneBatch) {
    for (int i = 0; i < 20; ++i) registry_->add("p" + std::to_string(i), configFor(target_));
    registry_ = makeRegistry();
    BatchCounter batch;
    registry_->setListener(&batch);
    registry_->restore();
    EXPECT_EQ(batch.begins, 1);
    EXPECT_EQ(batch.ends, 1);
    EXPECT_EQ(batch.addedBeforeEnd, 20u);
    registry_->setListener(nullptr);
}

}  // namespace
}  // namespace etmem::service

namespace etmem::service {
namespace {

// etmem 1.1's obj add sequence: project, engine and task files added in turn, each saved,
// and obj del taking them away again; bad files change nothing.
TEST_F(RegistryTest, ObjAddSequenceAndObjDel) {
    const std::string project = "[project]\nname=p11\nloop=1\ninterval=1\nsleep=1\n";
    const std::string engine = "[engine]\nname=slide\nproject=p11\n";
    const std::string task = "[task]\nproject=p11\nengine=slide\nname=t1\ntype=pid\nvalue=" +
                             std::to_string(::getpid()) + "\nT=1\ndram_percent=40\n";
    EXPECT_EQ(registry_->addObjects(project).name, "p11");
    EXPECT_TRUE(registry_->get("p11").config.tasks.empty());
    registry_->addObjects(engine);
    registry_->start("p11");
    registry_->addObjects(task);
    const Project& added = registry_->get("p11");
    ASSERT_EQ(added.config.tasks.size(), 1u);
    EXPECT_EQ(added.config.tasks[0].slide.dramPercent, 40u);
    EXPECT_EQ(added.state, ProjectState::Running);  // restarted on its new tasks
    EXPECT_EQ(errorOf([&] { registry_->addObjects(task); }), ErrorKind::InvalidConfig);
    EXPECT_EQ(errorOf([&] { registry_->addObjects(project); }), ErrorKind::ProjectExists);
    std::string other = task;
    other.replace(other.find("project=p11"), 11, "project=nope");
    EXPECT_EQ(errorOf([&] { registry_->addObjects(other); }), ErrorKind::NoSuchProject);
    EXPECT_EQ(errorOf([&] { registry_->addObjects("options:\n  loop: 1\n"); }),
              ErrorKind::InvalidConfig);

    // What was saved comes back after a restart.
    registry_.reset();
    registry_ = makeRegistry();
    registry_->restore();
    ASSERT_EQ(registry_->get("p11").config.tasks.size(), 1u);
    EXPECT_EQ(registry_->get("p11").config.tasks[0].name, "t1");

    registry_->removeObjects(task);
    EXPECT_TRUE(registry_->get("p11").config.tasks.empty());
    EXPECT_EQ(errorOf([&] { registry_->removeObjects(task); }), ErrorKind::InvalidConfig);
    // A project without tasks is saved too.
    registry_.reset();
    registry_ = makeRegistry();
    registry_->restore();
    EXPECT_TRUE(registry_->find("p11") != nullptr);
    registry_->removeObjects(project);
    EXPECT_EQ(registry_->find("p11"), nullptr);
}

}  // namespace
}  // namespace etmem::service

namespace etmem::service {
namespace {

// A region-scanned project (1.1's scan_type=region) stays one when its last task goes: its
// region keys are kept, and tasks added later scan regions as the project says.
TEST_F(RegistryTest, RegionScanOutlivesTheLastTask) {
    const std::string project =
        "[project]\nname=r\nscan_type=region\nloop=1\ninterval=1\nsleep=1\n"
        "sample_interval=5000\nmax_nr_regions=500\n";
    auto task = [&](const std::string& name) {
        return "[task]\nproject=r\nengine=slide\nname=" + name +
               "\ntype=pid\nvalue=" + std::to_string(target_) + "\nT=1\n";
    };
    registry_->addObjects(project);
    registry_->addObjects("[engine]\nname=slide\nproject=r\n");
    registry_->addObjects(task("t1"));
    EXPECT_EQ(registry_->get("r").config.tasks.at(0).slide.scanner, "damon");
    registry_->removeObjects(task("t1"));

    registry_.reset();
    registry_ = makeRegistry();
    registry_->restore();
    EXPECT_EQ(registry_->get("r").config.region.sampleIntervalUs, 5000u);
    EXPECT_EQ(registry_->get("r").config.region.maxNrRegions, 500u);
    registry_->addObjects(task("t2"));
    EXPECT_EQ(registry_->get("r").config.tasks.at(0).slide.scanner, "damon");

    // Kept as YAML now: a task added after a restart still scans regions.
    registry_.reset();
    registry_ = makeRegistry();
    registry_->restore();
    registry_->addObjects(task("t3"));
    ASSERT_EQ(registry_->get("r").config.tasks.size(), 2u);
    EXPECT_EQ(registry_->get("r").config.tasks.at(1).slide.scanner, "damon");
    EXPECT_EQ(registry_->get("r").config.region.sampleIntervalUs, 5000u);
}

// A page-scanned project's tasks keep choosing their scanner.
TEST_F(RegistryTest, PageScanTasksAddedLaterProbeTheirScanner) {
    registry_->addObjects("[project]\nname=pg\nloop=1\ninterval=1\nsleep=1\n");
    registry_->addObjects("[task]\nproject=pg\nengine=slide\nname=t\ntype=pid\nvalue=" +
                          std::to_string(target_) + "\nT=1\n");
    EXPECT_EQ(registry_->get("pg").config.tasks.at(0).slide.scanner, "auto");
}

// Two names whose shortened file names are equal: the second is refused, the first kept.
TEST_F(RegistryTest, NamesSharingAStateFileAreRefused) {
    const std::string first = std::string(239, 'a') + "d9d0833d5010f535";
    const std::string second = std::string(239, 'a') + "d760242b9663e59f";
    ASSERT_EQ(store_->fileFor(first), store_->fileFor(second));
    registry_->add(first, configFor(target_));
    EXPECT_EQ(errorOf([&] { registry_->add(second, configFor(target_)); }),
              ErrorKind::InvalidArgument);
    EXPECT_EQ(registry_->find(second), nullptr);
    registry_.reset();
    registry_ = makeRegistry();
    registry_->restore();
    EXPECT_NE(registry_->find(first), nullptr);
}

// A client in another pid namespace means another process by a pid: refused, not saved.
TEST_F(RegistryTest, PidsFromAnotherPidNamespaceAreRefused) {
    const NamespaceView elsewhere{false, true, ""};
    EXPECT_EQ(errorOf([&] { registry_->add("ns", configFor(target_), elsewhere); }),
              ErrorKind::InvalidConfig);
    EXPECT_EQ(registry_->find("ns"), nullptr);
    EXPECT_FALSE(std::filesystem::exists(store_->fileFor("ns")));
    registry_->add("ns", configFor(target_), NamespaceView{});
    EXPECT_NE(registry_->find("ns"), nullptr);
}

}  // namespace
}  // namespace etmem::service
