// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's cslide engine: its [engine] keys given to its tasks, node_pair as hot,cold
// pairs with each node at most once, hot_threshold as slide's T, node_mig_quota and
// node_hot_reserve in MiB; 1.1's sample file loads.
#include <gtest/gtest.h>

#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

// 1.1's sample cslide file (its docs), with the task's pid in value= (the sample writes a
// second name= where the pid belongs, which 1.1 itself reads as the task's name).
constexpr std::string_view kSample =
    "[project]\nname=test\nloop=1\ninterval=1\nsleep=1\n\n"
    "#cslide engine example\n"
    "[engine]\nname=cslide\nproject=test\nnode_pair=2,0;3,1\nhot_threshold=1\n"
    "node_mig_quota=1024\nnode_hot_reserve=1024\n\n"
    "[task]\nproject=test\nengine=cslide\nname=background_cslide\ntype=pid\nvalue=23456\n"
    "vm_flags=ht\nanon_only=no\nign_host=no\n";

std::string rejection(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(ConfigCslide, TheSampleFileLoads) {
    const ProjectConfig config = parseConfig(kSample, {});
    ASSERT_EQ(config.tasks.size(), 1u);
    const TaskConfig& task = config.tasks[0];
    EXPECT_EQ(task.engine, "cslide");
    EXPECT_EQ(task.slide.nodePairs, (std::vector<std::pair<int, int>>{{2, 0}, {3, 1}}));
    EXPECT_EQ(task.slide.T, 1u);
    EXPECT_EQ(task.slide.migrateQuotaMiB, 1024);
    EXPECT_EQ(task.slide.hotReserveBytes, std::uint64_t{1024} << 20);
    EXPECT_EQ(task.slide.vmFlags, "ht");
    EXPECT_EQ(task.slide.ignHost, "no");
    // The normalized YAML carries the engine's keys on the task and reads back the same.
    const std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("node_pair: 2,0;3,1"), std::string::npos) << yaml;
    EXPECT_EQ(parseConfig(yaml, {}), config) << yaml;
}

TEST(ConfigCslide, NodePairRules) {
    const auto withPair = [](const std::string& pair) {
        return "[project]\nname=p\nloop=2\ninterval=1\nsleep=1\n[engine]\nname=cslide\n"
               "project=p\nnode_pair=" +
               pair + "\n[task]\nproject=p\nengine=cslide\nname=t\ntype=pid\nvalue=1\n";
    };
    EXPECT_EQ(parseConfig(withPair("0,1"), {}).tasks[0].slide.nodePairs,
              (std::vector<std::pair<int, int>>{{0, 1}}));
    EXPECT_EQ(parseConfig(withPair(" 0 , 1 ; 2,3 "), {}).tasks[0].slide.nodePairs.size(), 2u);
    const std::string twice = rejection(withPair("0,1;1,2"));
    EXPECT_NE(twice.find("names node 1 twice"), std::string::npos) << twice;
    EXPECT_NE(twice.find("node_pair"), std::string::npos) << twice;
    for (const char* bad : {"0", "a,b", "0,1;", "0,1024"}) {
        const std::string why = rejection(withPair(bad));
        if (std::string(bad) == "0,1;") {
            EXPECT_EQ(why, "accepted");  // a trailing ';' as 1.1's strtok reads it
            continue;
        }
        EXPECT_NE(why.find("hot,cold node pairs"), std::string::npos) << bad << ": " << why;
    }
}

TEST(ConfigCslide, KeysAreCheckedWhereTheyStand) {
    const std::string base =
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=cslide\nproject=p\n"
        "node_pair=0,1\n";
    const std::string task = "[task]\nproject=p\nengine=cslide\nname=t\ntype=pid\nvalue=1\n";
    EXPECT_NE(rejection(base + "hot_threshold=5\n" + task).find("0..4"), std::string::npos);
    EXPECT_NE(rejection(base + "node_mig_quota=-1\n" + task).find("node_mig_quota"),
              std::string::npos);
    // A task's own key wins over its engine's.
    EXPECT_EQ(
        parseConfig(base + "hot_threshold=2\n" + task + "hot_threshold=3\n", {}).tasks[0].slide.T,
        3u);
    // Engine slide has no [engine] keys.
    const std::string slide = rejection(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=slide\nproject=p\n"
        "node_pair=0,1\n[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\n");
    EXPECT_NE(slide.find("key 'node_pair' is not a key of engine slide's [engine] section"),
              std::string::npos)
        << slide;
    // Without node_pair a cslide task says what is missing.
    EXPECT_NE(rejection("[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=cslide\n"
                        "project=p\n" +
                        task)
                  .find("node_pair"),
              std::string::npos);
}

// On this host (one node, or nodes without tiers) the sample's pairs cannot run: the start
// says which node and what the machine has.
TEST(ConfigCslide, PairsAreCheckedAgainstTheMachineAtStart) {
    const std::string problem = checkHostLimits(parseConfig(kSample, {}), 1);
    EXPECT_NE(problem.find("options.policies.node_pair: "), std::string::npos) << problem;
    EXPECT_NE(problem.find("this machine's nodes: "), std::string::npos) << problem;
}

}  // namespace
}  // namespace etmem
