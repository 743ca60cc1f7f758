// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon against a temp directory standing in for DAMON's sysfs: what it writes (one
// vaddr context, a target per process, the task's scheme with its quota and watermarks),
// when it starts the kdamond again, how pressure pauses the scheme, and the scheme's stats
// as the cycle's figures.
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "etmem/config.hpp"
#include "etmem/engines/damon_engine.hpp"

namespace etmem {
namespace {

namespace fs = std::filesystem;

// One kdamond's directory, with the files DAMON's sysfs has (those the engine writes or
// reads). Regular files are not truncated on write, so the kernel's side (state, stats) is
// set by the test with set().
class FakeDamon {
  public:
    FakeDamon() {
        root_ = fs::temp_directory_path() /
                ("damon-engine-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        set(admin() / "nr_kdamonds", "0");
        for (const char* file : {"state",
                                 "contexts/nr_contexts",
                                 "contexts/0/operations",
                                 "contexts/0/monitoring_attrs/intervals/sample_us",
                                 "contexts/0/monitoring_attrs/intervals/aggr_us",
                                 "contexts/0/monitoring_attrs/intervals/update_us",
                                 "contexts/0/monitoring_attrs/nr_regions/min",
                                 "contexts/0/monitoring_attrs/nr_regions/max",
                                 "contexts/0/targets/nr_targets",
                                 "contexts/0/targets/0/pid_target",
                                 "contexts/0/targets/1/pid_target",
                                 "contexts/0/schemes/nr_schemes",
                                 "contexts/0/schemes/0/action",
                                 "contexts/0/schemes/0/quotas/ms",
                                 "contexts/0/schemes/0/quotas/bytes",
                                 "contexts/0/schemes/0/quotas/reset_interval_ms",
                                 "contexts/0/schemes/0/watermarks/metric",
                                 "contexts/0/schemes/0/watermarks/interval_us",
                                 "contexts/0/schemes/0/watermarks/high",
                                 "contexts/0/schemes/0/watermarks/mid",
                                 "contexts/0/schemes/0/watermarks/low"})
            set(kdamond() / file, "");
        for (const char* range : {"sz", "nr_accesses", "age"})
            for (const char* end : {"min", "max"})
                set(scheme() / "access_pattern" / range / end, "");
        setStats(0, 0, 0, 0, 0);
        paths.sys = root_ / "sys";
        paths.proc = root_ / "proc";
        paths.run = root_ / "run";
        set(paths.proc / "pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    }
    ~FakeDamon() { fs::remove_all(root_); }

    fs::path admin() const { return root_ / "sys/kernel/mm/damon/admin/kdamonds"; }
    fs::path kdamond() const { return admin() / "0"; }
    fs::path scheme() const { return kdamond() / "contexts/0/schemes/0"; }
    static void set(const fs::path& path, const std::string& text) {
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::trunc) << text;
    }
    static std::string get(const fs::path& path) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }
    std::string schemeFile(const std::string& file) const { return get(scheme() / file); }
    void setStats(std::uint64_t nrTried, std::uint64_t szTried, std::uint64_t nrApplied,
                  std::uint64_t szApplied, std::uint64_t qtExceeds) {
        set(scheme() / "stats/nr_tried", std::to_string(nrTried));
        set(scheme() / "stats/sz_tried", std::to_string(szTried));
        set(scheme() / "stats/nr_applied", std::to_string(nrApplied));
        set(scheme() / "stats/sz_applied", std::to_string(szApplied));
        set(scheme() / "stats/qt_exceeds", std::to_string(qtExceeds));
    }
    // The process's VmSwap as its status file says.
    void swapped(pid_t pid, std::uint64_t kb) {
        set(paths.proc / std::to_string(pid) / "status",
            "Name:\tt\nVmRSS:\t  100 kB\nVmSwap:\t" + std::to_string(kb) + " kB\n");
    }
    // The kernel's answer after the engine turned the kdamond on (or asked for stats).
    void kdamondIs(const std::string& state) { set(kdamond() / "state", state + "\n"); }
    // Clears what the engine wrote last, to see whether it writes again.
    void forget(const std::string& file) { set(kdamond() / file, ""); }

    kernel::KernelPaths paths;

  private:
    static inline int counter_ = 0;
    fs::path root_;
};

Target self() {
    Target target;
    target.pid = ::getpid();
    target.comm = "damon-test";
    target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    return target;
}

struct Fixture {
    ProjectConfig project;
    TaskConfig task;
    NullLogger logger;

    Fixture() {
        task.engine = "damon";
        task.damon.minSize = 4096;
        task.damon.maxSize = 1 << 20;
        task.damon.maxAccesses = 0;
        task.damon.minAge = 5;
        task.damon.maxAge = 100;
    }
    std::unique_ptr<TaskEngine> engine(const kernel::KernelPaths& paths) {
        return damon::makeDamonEngine(EngineContext{project, task, {}, logger}, paths);
    }
};

TEST(DamonEngineSysfs, WritesOneVaddrContextWithTheTasksScheme) {
    FakeDamon damon;
    Fixture f;
    f.task.slide.maxSwapRate = 8 << 20;
    f.project.sysmemThreshold = 40;
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    EXPECT_EQ(damon.get(damon.kdamond() / "state"), "on");
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/operations"), "vaddr");
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/targets/nr_targets"), "1");
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/targets/0/pid_target"),
              std::to_string(::getpid()));
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/schemes/nr_schemes"), "1");
    EXPECT_EQ(damon.schemeFile("action"), "pageout");
    EXPECT_EQ(damon.schemeFile("access_pattern/sz/min"), "4096");
    EXPECT_EQ(damon.schemeFile("access_pattern/sz/max"), "1048576");
    EXPECT_EQ(damon.schemeFile("access_pattern/nr_accesses/max"), "0");
    EXPECT_EQ(damon.schemeFile("access_pattern/age/min"), "5");
    EXPECT_EQ(damon.schemeFile("access_pattern/age/max"), "100");
    // max_swap_rate: bytes a second; sysmem_threshold 40%: act while free memory <= 400/1000.
    EXPECT_EQ(damon.schemeFile("quotas/bytes"), std::to_string(8 << 20));
    EXPECT_EQ(damon.schemeFile("quotas/reset_interval_ms"), "1000");
    EXPECT_EQ(damon.schemeFile("watermarks/metric"), "free_mem_rate");
    EXPECT_EQ(damon.schemeFile("watermarks/high"), "400");
    EXPECT_EQ(damon.schemeFile("watermarks/mid"), "400");
    EXPECT_EQ(damon.schemeFile("watermarks/low"), "0");
}

TEST(DamonEngineSysfs, StartsAgainOnlyWhenTheProcessesChange) {
    FakeDamon damon;
    Fixture f;
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    damon.kdamondIs("on");
    damon.forget("contexts/0/targets/nr_targets");
    engine->beginCycle(targets, {});  // same processes, still on: left running
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/targets/nr_targets"), "");
    damon.kdamondIs("off");  // DAMON stopped it (its targets exited, say)
    engine->beginCycle(targets, {});
    EXPECT_EQ(damon.get(damon.kdamond() / "contexts/0/targets/nr_targets"), "1");
    EXPECT_EQ(damon.get(damon.kdamond() / "state").substr(0, 2), "on");  // written over "off"
}

TEST(DamonEngineSysfs, NoProcessTurnsTheKdamondOff) {
    FakeDamon damon;
    Fixture f;
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    damon.kdamondIs("on");
    engine->beginCycle({}, {});
    EXPECT_EQ(damon.get(damon.kdamond() / "state"), "off");
}

TEST(DamonEngineSysfs, TheSchemesStatsAreTheCyclesFigures) {
    FakeDamon damon;
    Fixture f;
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    damon.kdamondIs("on");
    damon.setStats(10, 40960, 4, 16384, 1);
    damon.swapped(::getpid(), 12);  // KiB: of the 16 KiB applied, 12 left
    CycleReport first = engine->act({});
    EXPECT_EQ(first.error, "");
    EXPECT_EQ(first.scanner, "damon");
    EXPECT_EQ(first.swapper, "damos pageout");
    EXPECT_EQ(first.extra.count("damos_nr_tried"), 10u);
    EXPECT_EQ(first.extra.count("damos_sz_applied"), 16384u);
    EXPECT_EQ(first.extra.count("damos_qt_exceeds"), 1u);
    EXPECT_EQ(first.bytesSwapped, 12288u);
    EXPECT_EQ(first.pagesSwapped, 3u);
    // The next cycle counts only what happened since.
    damon.kdamondIs("on");
    damon.setStats(15, 61440, 6, 24576, 1);
    damon.swapped(::getpid(), 20);
    CycleReport second = engine->act({});
    EXPECT_EQ(second.extra.count("damos_nr_tried"), 5u);
    EXPECT_EQ(second.extra.count("damos_sz_applied"), 8192u);
    EXPECT_EQ(second.bytesSwapped, 8192u);
    EXPECT_EQ(second.extra.count("damos_qt_exceeds"), 0u);
    const auto figures = second.figures();
    EXPECT_NE(figures.find("damos_sz_applied"), nullptr);
    EXPECT_TRUE(figures.find("damos_sz_applied")->accumulates);
}

TEST(DamonEngineSysfs, AnotherActionSwapsNothing) {
    FakeDamon damon;
    Fixture f;
    f.task.damon.action = "cold";
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    EXPECT_EQ(damon.schemeFile("action"), "cold");
    damon.kdamondIs("on");
    damon.setStats(3, 12288, 3, 12288, 0);
    damon.swapped(::getpid(), 12);  // the kernel's own reclaim, say
    CycleReport report = engine->act({});
    EXPECT_EQ(report.bytesSwapped, 0u);
    EXPECT_EQ(report.extra.count("damos_sz_applied"), 12288u);
}

TEST(DamonEngineSysfs, PressureAtTheLimitPausesTheSchemeOnline) {
    FakeDamon damon;
    Fixture f;
    f.task.slide.pressureLimit = 10;
    auto engine = f.engine(damon.paths);
    std::vector<Target> targets;
    targets.push_back(self());
    engine->beginCycle(targets, {});
    EXPECT_EQ(damon.schemeFile("action"), "pageout");
    damon.kdamondIs("on");
    FakeDamon::set(damon.paths.proc / "pressure/memory",
                   "some avg10=12.50 avg60=1.00 avg300=0.00 total=9\n");
    FakeDamon::set(damon.scheme() / "action", "");
    engine->scan({});
    EXPECT_EQ(damon.schemeFile("action"), "stat");  // paused, monitoring kept
    EXPECT_EQ(damon.get(damon.kdamond() / "state"), "commit");
    damon.kdamondIs("on");
    CycleReport paused = engine->act({});
    EXPECT_TRUE(paused.pacing.paused);
    EXPECT_TRUE(paused.pacing.paced);
    EXPECT_DOUBLE_EQ(paused.pacing.pressure, 12.5);
    FakeDamon::set(damon.paths.proc / "pressure/memory",
                   "some avg10=1.00 avg60=1.00 avg300=0.00 total=9\n");
    FakeDamon::set(damon.scheme() / "action", "");
    damon.kdamondIs("on");
    engine->scan({});
    EXPECT_EQ(damon.schemeFile("action"), "pageout");
}

TEST(DamonEngineSysfs, StoppingTurnsTheKdamondOff) {
    FakeDamon damon;
    Fixture f;
    {
        auto engine = f.engine(damon.paths);
        std::vector<Target> targets;
        targets.push_back(self());
        engine->beginCycle(targets, {});
        damon.kdamondIs("on");
    }
    EXPECT_EQ(damon.get(damon.kdamond() / "state"), "off");
}

}  // namespace
}  // namespace etmem
