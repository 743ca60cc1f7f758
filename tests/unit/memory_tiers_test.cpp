// SPDX-License-Identifier: MulanPSL-2.0
// Tier discovery from a fake sysfs: nodes with memory, per-node meminfo, distances, the
// kernel's memory tiers, and the cold-node check the config relies on.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "etmem/kernel/memory_tiers.hpp"

namespace etmem::kernel {
namespace {

namespace fs = std::filesystem;

// A sysfs tree with node directories; each test adds what its machine has.
class FakeNodes {
  public:
    FakeNodes() {
        char path[] = "/tmp/etmem-tiers-XXXXXX";
        root_ = ::mkdtemp(path);
        paths_.sys = root_;
    }
    ~FakeNodes() { fs::remove_all(root_); }
    void write(const fs::path& relative, const std::string& text) {
        fs::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative) << text;
    }
    void node(int id, std::uint64_t totalKib, std::uint64_t freeKib, const std::string& distance) {
        const fs::path dir = fs::path("devices/system/node") / ("node" + std::to_string(id));
        write(dir / "meminfo", "Node " + std::to_string(id) + " MemTotal:  " +
                                   std::to_string(totalKib) + " kB\nNode " + std::to_string(id) +
                                   " MemFree:   " + std::to_string(freeKib) + " kB\n");
        write(dir / "distance", distance + "\n");
    }
    void lists(const std::string& online, const std::string& memory, const std::string& cpus) {
        write("devices/system/node/online", online + "\n");
        write("devices/system/node/has_memory", memory + "\n");
        write("devices/system/node/has_cpu", cpus + "\n");
    }
    void tier(int tier, const std::string& nodes) {
        write(fs::path("devices/virtual/memory_tiering") / ("memory_tier" + std::to_string(tier)) /
                  "nodelist",
              nodes + "\n");
    }
    const KernelPaths& paths() const { return paths_; }

  private:
    fs::path root_;
    KernelPaths paths_;
};

// The machine the VM proof boots: node 0 DRAM with the CPUs, node 1 CPU-less and slower.
void dramAndSlowNode(FakeNodes& sys) {
    sys.lists("0-1", "0-1", "0");
    sys.node(0, 1048576, 524288, "10 20");
    sys.node(1, 4194304, 4000000, "20 10");
}

TEST(NodeList, ReadsRangesAndSingles) {
    EXPECT_EQ(parseNodeList("0-2,4\n"), (std::vector<int>{0, 1, 2, 4}));
    EXPECT_EQ(parseNodeList("1"), (std::vector<int>{1}));
    EXPECT_EQ(parseNodeList(""), (std::vector<int>{}));
    EXPECT_EQ(parseNodeList("2-1"), std::nullopt);
    EXPECT_EQ(parseNodeList("a"), std::nullopt);
}

TEST(MemoryTiers, ReadsNodesMemoryAndKernelTiers) {
    FakeNodes sys;
    dramAndSlowNode(sys);
    sys.tier(4, "0");
    sys.tier(22, "1");
    const MemoryTiers tiers = discoverMemoryTiers(sys.paths());
    ASSERT_EQ(tiers.nodes.size(), 2u);
    EXPECT_TRUE(tiers.kernelTiers);
    EXPECT_EQ(tiers.nodes[0].tier, 4);
    EXPECT_EQ(tiers.nodes[1].tier, 22);
    EXPECT_TRUE(tiers.nodes[0].hasCpus);
    EXPECT_FALSE(tiers.nodes[1].hasCpus);
    EXPECT_EQ(tiers.nodes[0].totalBytes, 1048576ull * 1024);
    EXPECT_EQ(tiers.nodes[1].freeBytes, 4000000ull * 1024);
    EXPECT_EQ(tiers.nodes[1].distances, (std::vector<int>{20, 10}));
    EXPECT_TRUE(tiers.slower(1, 0));
    EXPECT_FALSE(tiers.slower(0, 1));
    ASSERT_EQ(tiers.fastestFirst().size(), 2u);
    EXPECT_EQ(tiers.fastestFirst()[0]->id, 0);
    EXPECT_EQ(coldNodeProblem(tiers, 1, "k"), "");
}

TEST(MemoryTiers, WithoutKernelTiersDistanceFromTheCpusRanks) {
    FakeNodes sys;
    dramAndSlowNode(sys);
    const MemoryTiers tiers = discoverMemoryTiers(sys.paths());
    EXPECT_FALSE(tiers.kernelTiers);
    EXPECT_EQ(tiers.nodes[0].rank, 10);
    EXPECT_EQ(tiers.nodes[1].rank, 20);
    EXPECT_TRUE(tiers.slower(1, 0));
    EXPECT_EQ(coldNodeProblem(tiers, 1, "k"), "");
}

TEST(MemoryTiers, TwoSocketsAreNotTiers) {
    FakeNodes sys;
    sys.lists("0-1", "0-1", "0-1");
    sys.node(0, 1048576, 1000, "10 21");
    sys.node(1, 1048576, 1000, "21 10");
    const MemoryTiers tiers = discoverMemoryTiers(sys.paths());
    const std::string problem = coldNodeProblem(tiers, 1, "options.policies.cold_destination");
    EXPECT_NE(problem.find("options.policies.cold_destination: node 1 is not slower"),
              std::string::npos)
        << problem;
    EXPECT_NE(problem.find("0 (distance 10, 1.0 GiB, CPUs), 1 (distance 10, 1.0 GiB, CPUs)"),
              std::string::npos)
        << problem;
}

TEST(MemoryTiers, ANodeMissingOrWithoutMemoryIsNamed) {
    FakeNodes sys;
    sys.lists("0-2", "0-1", "0");
    sys.node(0, 1048576, 1000, "10 20 20");
    sys.node(1, 2097152, 1000, "20 10 20");
    sys.node(2, 0, 0, "20 20 10");
    sys.tier(4, "0");
    sys.tier(22, "1");
    const MemoryTiers tiers = discoverMemoryTiers(sys.paths());
    EXPECT_EQ(coldNodeProblem(tiers, 7, "key"),
              "key: node 7 does not exist; this machine's nodes: 0 (tier 4, 1.0 GiB, CPUs), "
              "1 (tier 22, 2.0 GiB), 2 (no memory)");
    EXPECT_NE(coldNodeProblem(tiers, 2, "key").find("key: node 2 has no memory;"),
              std::string::npos);
    EXPECT_NE(coldNodeProblem(tiers, 0, "key").find("key: node 0 is not slower"),
              std::string::npos);
}

TEST(MemoryTiers, NoNumaInSysfsHasNoNodes) {
    FakeNodes sys;
    const MemoryTiers tiers = discoverMemoryTiers(sys.paths());
    EXPECT_TRUE(tiers.nodes.empty());
    EXPECT_NE(coldNodeProblem(tiers, 1, "key").find("no NUMA node in sysfs"), std::string::npos);
}

TEST(MemoryTiers, ThisHostHasANodeWithMemory) {
    const MemoryTiers tiers = discoverMemoryTiers({});
    if (tiers.nodes.empty()) GTEST_SKIP() << "this kernel shows no NUMA nodes";
    EXPECT_TRUE(tiers.fastestRank().has_value());
    EXPECT_GT(tiers.fastestFirst().front()->totalBytes, 0u);
}

}  // namespace
}  // namespace etmem::kernel
