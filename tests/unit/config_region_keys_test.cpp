// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's optional DAMON region keys in options: sample_interval, aggr_interval,
// update_interval (microseconds), min_nr_regions, max_nr_regions.
#include <gtest/gtest.h>

#include "etmem/config.hpp"

namespace etmem {
namespace {

// interval 2 s, so aggr_interval may be at most 2,000,000 us.
std::string optionsWith(const std::string& extra) {
    return "options:\n  loop: 2\n  interval: 2\n  sleep: 1\n" + extra +
           "  policies:\n    type: pid\n    value: 1\n    engine: slide\n    param:\n      T: 1\n";
}

ConfigError errorOf(const std::string& extra) {
    try {
        parseConfig(optionsWith(extra), {});
    } catch (const ConfigError& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << extra;
    return ConfigError(0, 0, "", "", "");
}

TEST(ConfigRegionKeys, AbsentMeansDerived) {
    ProjectConfig config = parseConfig(optionsWith(""), {});
    EXPECT_EQ(config.region, RegionScanConfig{});
    EXPECT_EQ(toYaml(config).find("nr_regions"), std::string::npos);
}

TEST(ConfigRegionKeys, AllGivenAreKeptAndShownInNormalizedYaml) {
    ProjectConfig config = parseConfig(optionsWith("  sample_interval: 20000\n"
                                                   "  aggr_interval: 2000000\n"
                                                   "  update_interval: 4000000\n"
                                                   "  min_nr_regions: 3\n"
                                                   "  max_nr_regions: 1000000\n"),
                                       {});
    EXPECT_EQ(config.region.sampleIntervalUs, 20000u);
    EXPECT_EQ(config.region.aggrIntervalUs, 2000000u);
    EXPECT_EQ(config.region.updateIntervalUs, 4000000u);
    EXPECT_EQ(config.region.minNrRegions, 3u);
    EXPECT_EQ(config.region.maxNrRegions, 1000000u);
    std::string yaml = toYaml(config);
    EXPECT_NE(yaml.find("  aggr_interval: 2000000\n"), std::string::npos) << yaml;
    EXPECT_EQ(parseConfig(yaml, {}), config);
}

TEST(ConfigRegionKeys, EdgesAccepted) {
    EXPECT_EQ(parseConfig(optionsWith("  sample_interval: 100\n"), {}).region.sampleIntervalUs,
              100u);
    EXPECT_EQ(parseConfig(optionsWith("  sample_interval: 2000000\n"), {}).region.sampleIntervalUs,
              2000000u);
    EXPECT_EQ(parseConfig(optionsWith("  aggr_interval: 1000\n"), {}).region.aggrIntervalUs, 1000u);
    EXPECT_EQ(
        parseConfig(optionsWith("  update_interval: 3600000000\n"), {}).region.updateIntervalUs,
        3600000000u);
    EXPECT_EQ(parseConfig(optionsWith("  min_nr_regions: 7\n  max_nr_regions: 7\n"), {})
                  .region.maxNrRegions,
              7u);
}

TEST(ConfigRegionKeys, BeyondEdgesNameKeyValueLineAndRange) {
    ConfigError e = errorOf("  sample_interval: 99\n");
    EXPECT_EQ(e.line(), 5);
    EXPECT_EQ(e.key(), "options.sample_interval");
    EXPECT_EQ(e.value(), "99");
    EXPECT_NE(std::string(e.what()).find("allowed 100..2000000 microseconds"), std::string::npos)
        << e.what();

    e = errorOf("  aggr_interval: 2000001\n");
    EXPECT_EQ(e.key(), "options.aggr_interval");
    EXPECT_NE(std::string(e.what()).find("at most interval"), std::string::npos) << e.what();

    e = errorOf("  sample_interval: 50000\n  aggr_interval: 40000\n");
    EXPECT_EQ(e.line(), 6);
    EXPECT_NE(std::string(e.what()).find("allowed 50000..2000000"), std::string::npos) << e.what();

    e = errorOf("  aggr_interval: 500000\n  update_interval: 400000\n");
    EXPECT_EQ(e.key(), "options.update_interval");
    EXPECT_NE(std::string(e.what()).find("at least aggr_interval"), std::string::npos) << e.what();
    EXPECT_EQ(errorOf("  update_interval: 3600000001\n").key(), "options.update_interval");

    EXPECT_NE(std::string(errorOf("  min_nr_regions: 2\n").what()).find("allowed 3..1000000"),
              std::string::npos);
    EXPECT_EQ(errorOf("  max_nr_regions: 1000001\n").key(), "options.max_nr_regions");
    e = errorOf("  min_nr_regions: 100\n  max_nr_regions: 99\n");
    EXPECT_EQ(e.key(), "options.max_nr_regions");
    EXPECT_NE(std::string(e.what()).find("at least min_nr_regions"), std::string::npos) << e.what();
}

TEST(ConfigRegionKeys, NotANumberOrTwiceOrMisplaced) {
    EXPECT_NE(std::string(errorOf("  max_nr_regions: lots\n").what()).find("not a whole number"),
              std::string::npos);
    EXPECT_NE(std::string(errorOf("  max_nr_regions: -5\n").what()).find("out of range"),
              std::string::npos);
    EXPECT_NE(std::string(errorOf("  min_nr_regions: 5\n  min_nr_regions: 6\n").what())
                  .find("given twice"),
              std::string::npos);
    // In a task it is a misplaced option, not a typo.
    try {
        parseConfig(optionsWith("") + "    max_nr_regions: 10\n", {});
        FAIL() << "a region key inside a task was accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("inside 'options:'"), std::string::npos) << e.what();
    }
}

TEST(ConfigRegionKeys, LineFormReadsThemToo) {
    const std::string legacy =
        "options:\n\tloop : 1\n\tinterval : 1\n\tsleep : 1\n\tmax_nr_regions : 500\n"
        "\tpolicies:\n\t\ttype : pid\n\t\tvalue : 7\n\t\tengine : slide\n\t\tparam:\n\t\t\tT : 1\n";
    EXPECT_EQ(parseConfig(legacy, {}).region.maxNrRegions, 500u);
}

}  // namespace
}  // namespace etmem
