// SPDX-License-Identifier: MulanPSL-2.0
// The memory tier keys of a slide task: cold_destination, then_swap_after, node_hot_reserve
// and max_migrate_rate, in the YAML and etmem 1.1 forms; each rejection names the key, the
// value and what is allowed. The machine check (the node exists, has memory, is slower) is
// checkHostLimits', at start.
#include <gtest/gtest.h>

#include <string>

#include "etmem/config.hpp"
#include "etmem/kernel/memory_tiers.hpp"

namespace etmem {
namespace {

std::string yamlTask(const std::string& extra) {
    return "options:\n"
           "  loop: 1\n"
           "  interval: 1\n"
           "  sleep: 1\n"
           "  policies:\n"
           "    - type: pid\n"
           "      value: 1\n"
           "      engine: slide\n"
           "      param:\n"
           "        T: 1\n" +
           extra;
}

TaskConfig parseTask(const std::string& text) {
    return parseConfig(text, {}).tasks.at(0);
}

std::string rejection(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "accepted";
}

TEST(ConfigTiers, ColdPagesGoToSwapUnlessANodeIsNamed) {
    EXPECT_EQ(parseTask(yamlTask("")).slide.coldNode, -1);
    EXPECT_EQ(parseTask(yamlTask("      cold_destination: swap\n")).slide.coldNode, -1);
    EXPECT_EQ(parseTask(yamlTask("      cold_destination: node 1\n")).slide.coldNode, 1);
    EXPECT_EQ(parseTask(yamlTask("      cold_destination: node3\n")).slide.coldNode, 3);
    for (const char* text : {"node", "node -1", "node 1024", "disk", "1", "node one"}) {
        const std::string why =
            rejection(yamlTask(std::string("      cold_destination: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].cold_destination"), std::string::npos) << why;
        EXPECT_NE(why.find("allowed swap, or node N (N = 0..1023"), std::string::npos) << why;
    }
}

TEST(ConfigTiers, ChainReserveAndRateNeedANode) {
    const TaskConfig task =
        parseTask(yamlTask("      cold_destination: node 1\n      then_swap_after: 4\n"
                           "      node_hot_reserve: 10%\n      max_migrate_rate: 64M\n"));
    EXPECT_EQ(task.slide.thenSwapAfter, 4u);
    EXPECT_EQ(task.slide.hotReservePercent, 10u);
    EXPECT_EQ(task.slide.hotReserveBytes, 0u);
    EXPECT_EQ(task.slide.maxMigrateRate, 64u << 20);
    EXPECT_EQ(parseTask(yamlTask("      cold_destination: node 1\n      node_hot_reserve: 512M\n"))
                  .slide.hotReserveBytes,
              512u << 20);
    for (const char* key : {"then_swap_after: 2", "node_hot_reserve: 5%", "max_migrate_rate: 8M"}) {
        const std::string why = rejection(yamlTask(std::string("      ") + key + "\n"));
        EXPECT_NE(why.find("needs cold_destination: node N"), std::string::npos) << why;
    }
    for (const char* text : {"0", "65", "x"}) {
        const std::string why = rejection(yamlTask(
            std::string("      cold_destination: node 1\n      then_swap_after: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].then_swap_after"), std::string::npos) << why;
        EXPECT_NE(why.find("1..64"), std::string::npos) << why;
    }
    for (const char* text : {"0%", "51%", "x%", "100", "2048G"}) {
        const std::string why = rejection(yamlTask(
            std::string("      cold_destination: node 1\n      node_hot_reserve: ") + text + "\n"));
        EXPECT_NE(why.find("options.policies[0].node_hot_reserve"), std::string::npos) << why;
        EXPECT_NE(why.find("1..50%"), std::string::npos) << why;
    }
}

TEST(ConfigTiers, NormalizedYamlKeepsTheKeys) {
    const ProjectConfig config =
        parseConfig(yamlTask("      cold_destination: node 2\n      then_swap_after: 3\n"
                             "      node_hot_reserve: 5%\n      max_migrate_rate: 1M\n"),
                    {});
    const std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("cold_destination: node 2"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("node_hot_reserve: 5%"), std::string::npos) << yaml;
    EXPECT_EQ(parseConfig(yaml, {}), config);
    EXPECT_EQ(toYaml(parseConfig(yamlTask(""), {})).find("cold_destination"), std::string::npos);
}

TEST(ConfigTiers, EtmemElevenFormReadsTheKeys) {
    const TaskConfig task = parseTask(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=slide\nproject=p\n"
        "[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\n"
        "cold_destination=node 1\nthen_swap_after=2\n");
    EXPECT_EQ(task.slide.coldNode, 1);
    EXPECT_EQ(task.slide.thenSwapAfter, 2u);
}

// The machine check: a node this host does not have is refused at start, naming the key and
// the nodes there are.
TEST(ConfigTiers, AMissingNodeFailsTheStartNamingTheNodes) {
    const auto tiers = kernel::discoverMemoryTiers({});
    int missing = 0;
    while (tiers.find(missing) != nullptr) ++missing;
    const ProjectConfig config =
        parseConfig(yamlTask("      cold_destination: node " + std::to_string(missing) + "\n"), {});
    const std::string problem = checkHostLimits(config, 1);
    EXPECT_NE(problem.find("options.policies.cold_destination: node " + std::to_string(missing) +
                           " does not exist; this machine's nodes: "),
              std::string::npos)
        << problem;
    EXPECT_EQ(checkHostLimits(parseConfig(yamlTask(""), {}), 1), "");
}

}  // namespace
}  // namespace etmem
