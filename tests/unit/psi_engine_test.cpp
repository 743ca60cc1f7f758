// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi on a fake cgroup tree: which cgroups a task acts on (parent/* is every child),
// what it writes to memory.reclaim (in bounded chunks), its figures, and a host with only
// cgroup v1 refused with a sentence that says so.
#include "etmem/psi/psi_engine.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <stop_token>

#include "etmem/kernel/cgroup_memory.hpp"

namespace etmem::psi {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMiB = 1 << 20;

void writeFile(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

std::string readFile(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class PsiEngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("etmem-psi-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        paths_.sys = root_ / "sys";
        paths_.proc = root_ / "proc";
        writeFile(cgroups() / "cgroup.controllers", "memory\n");
        writeFile(cgroups() / "memory.reclaim", "");
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path cgroups() const { return paths_.sys / "fs/cgroup"; }

    void makeCgroup(const std::string& name, std::uint64_t current, std::uint64_t stallUs) {
        const fs::path dir = cgroups() / name;
        writeFile(dir / "memory.current", std::to_string(current) + "\n");
        writeFile(dir / "memory.max", "max\n");
        writeFile(dir / "memory.reclaim", "");
        writeFile(dir / "memory.pressure",
                  "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + std::to_string(stallUs) +
                      "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    }

    std::unique_ptr<TaskEngine> engine(const std::string& cgroup, std::uint64_t chunk) {
        task_.type = TaskType::Cgroup;
        task_.value = cgroup;
        task_.engine = "psi";
        project_.interval = 6;
        project_.tasks = {task_};
        PsiEngineOptions options;
        options.paths = paths_;
        options.now = [this] { return now_; };
        options.chunkBytes = chunk;
        return makePsiEngine(EngineContext{project_, task_, {}, logger_}, std::move(options));
    }

    fs::path root_;
    kernel::KernelPaths paths_;
    ProjectConfig project_;
    TaskConfig task_;
    NullLogger logger_;
    Clock::time_point now_ = Clock::time_point{} + std::chrono::hours(1);
};

TEST_F(PsiEngineTest, ParentStarActsOnEveryChildInBoundedChunks) {
    makeCgroup("parent/a", 1000 * kMiB, 0);
    makeCgroup("parent/b", 400 * kMiB, 0);
    writeFile(cgroups() / "parent/memory.current", "0\n");
    auto psi = engine("parent/*", 4 * kMiB);
    std::stop_source stop;
    psi->beginCycle({}, stop.get_token());
    psi->scan(stop.get_token());  // baseline
    now_ += std::chrono::seconds(6);
    psi->scan(stop.get_token());  // no stall since: reclaim 5% of each
    const CycleReport report = psi->act(stop.get_token());
    EXPECT_EQ(report.error, "");
    // 5% of 1000 MiB is 50 MiB, asked as 4 MiB chunks: the last write is the 2 MiB rest.
    EXPECT_EQ(readFile(cgroups() / "parent/a/memory.reclaim"), std::to_string(2 * kMiB));
    EXPECT_EQ(readFile(cgroups() / "parent/b/memory.reclaim"), std::to_string(4 * kMiB));
    EXPECT_EQ(readFile(cgroups() / "parent/memory.reclaim"), "");
    const FigureList figures = report.figures();
    EXPECT_EQ(figures.count("bytes_reclaimed"), 50 * kMiB + 20 * kMiB);
    EXPECT_EQ(figures.count("cgroups"), 2u);
    EXPECT_EQ(figures.count("reclaim_backoffs"), 0u);
    ASSERT_NE(figures.find("reclaim_rate"), nullptr);
}

TEST_F(PsiEngineTest, BacksOffAndCountsItWhenTheCgroupStalls) {
    makeCgroup("work", 1000 * kMiB, 0);
    auto psi = engine("work", kReclaimChunkBytes);
    std::stop_source stop;
    psi->beginCycle({}, stop.get_token());
    psi->scan(stop.get_token());
    now_ += std::chrono::seconds(6);
    makeCgroup("work", 1000 * kMiB, 60'000);  // 1% of 6 s stalled: over the 0.1% goal
    psi->scan(stop.get_token());
    const CycleReport report = psi->act(stop.get_token());
    EXPECT_EQ(readFile(cgroups() / "work/memory.reclaim"), "");
    const FigureList figures = report.figures();
    EXPECT_EQ(figures.count("reclaim_backoffs"), 1u);
    EXPECT_EQ(figures.count("bytes_reclaimed"), 0u);
    const Figure* pressure = figures.find("pressure");
    ASSERT_NE(pressure, nullptr);
    EXPECT_DOUBLE_EQ(std::get<double>(pressure->value), 1.0);
}

TEST_F(PsiEngineTest, StopEndsTheRoundBeforeItWrites) {
    makeCgroup("work", 1000 * kMiB, 0);
    auto psi = engine("work", kReclaimChunkBytes);
    std::stop_source stop;
    psi->beginCycle({}, stop.get_token());
    psi->scan(stop.get_token());
    now_ += std::chrono::seconds(6);
    stop.request_stop();
    psi->scan(stop.get_token());
    EXPECT_EQ(readFile(cgroups() / "work/memory.reclaim"), "");
}

TEST_F(PsiEngineTest, OnlyCgroupV1IsRefusedSayingWhy) {
    fs::remove(cgroups() / "cgroup.controllers");
    fs::create_directories(cgroups() / "memory/isulad");
    EXPECT_NE(kernel::cgroupReclaimProblem(paths_).find("only cgroup v1"), std::string::npos);
    auto psi = engine("isulad", kReclaimChunkBytes);
    std::stop_source stop;
    psi->beginCycle({}, stop.get_token());
    psi->scan(stop.get_token());
    EXPECT_NE(psi->act(stop.get_token()).error.find("cgroup v2"), std::string::npos);
}

TEST(CgroupMemory, ParsesSomeLineOfMemoryPressure) {
    const auto reading = kernel::parseStall("some avg10=1.25 avg60=0.50 avg300=0.10 total=4242");
    ASSERT_TRUE(reading);
    EXPECT_DOUBLE_EQ(reading->someAvg10, 1.25);
    EXPECT_EQ(reading->someTotalUs, 4242u);
    EXPECT_FALSE(kernel::parseStall("full avg10=1.25 avg60=0.50 avg300=0.10 total=4242"));
    EXPECT_FALSE(kernel::parseStall("some avg10=x total=1"));
}

}  // namespace
}  // namespace etmem::psi
