// SPDX-License-Identifier: MulanPSL-2.0
// A task's engine and the engine's own keys: the normalized text, the lists of keys messages
// give and the unknown-engine rejection, the same in every file form.
#include <gtest/gtest.h>

#include "etmem/config.hpp"

namespace etmem {
namespace {

ConfigError rejectionOf(const std::string& text) {
    try {
        parseConfig(text, {});
    } catch (const ConfigError& e) {
        return e;
    }
    ADD_FAILURE() << "accepted:\n" << text;
    return ConfigError(0, 0, "", "", "");
}

const std::string kEveryKeyYaml =
    "options:\n  loop: 2\n  interval: 1\n  sleep: 1\n  policies:\n"
    "    cold_cycles: 3\n    pressure_limit: 2.5\n    max_swap_rate: 8M\n    swap_flag: yes\n"
    "    dram_percent: 40\n    swap_threshold: 10g\n    name: web\n    swapper: madvise\n"
    "    scanner: damon\n    param:\n      T: 2\n    engine: slide\n    max_threads: 1\n"
    "    value: 1\n    type: pid\n";

const std::string kEveryKeyIni =
    "[project]\nname=p\nloop=2\ninterval=1\nsleep=1\n[engine]\nname=slide\nproject=p\n"
    "[task]\nproject=p\nengine=slide\nname=web\ntype=pid\nvalue=1\nT=2\nmax_threads=1\n"
    "swap_threshold=10g\ndram_percent=40\nswap_flag=yes\nscanner=damon\nswapper=madvise\n"
    "max_swap_rate=8M\npressure_limit=2.5\ncold_cycles=3\n";

// The order and spelling saved projects have: keys given in any order come out so.
const std::string kEveryKeyNormalized =
    "options:\n"
    "  loop: 2\n"
    "  interval: 1\n"
    "  sleep: 1\n"
    "  policies:\n"
    "    - type: pid\n"
    "      value: 1\n"
    "      max_threads: 1\n"
    "      engine: slide\n"
    "      param:\n"
    "        T: 2\n"
    "      scanner: damon\n"
    "      swapper: madvise\n"
    "      name: web\n"
    "      swap_threshold: 10g\n"
    "      dram_percent: 40\n"
    "      swap_flag: yes\n"
    "      max_swap_rate: 8388608\n"
    "      pressure_limit: 2.5\n"
    "      cold_cycles: 3\n";

TEST(ConfigEngineKeys, NormalizedTextKeepsItsOrderInEveryForm) {
    EXPECT_EQ(toYaml(parseConfig(kEveryKeyYaml, {})), kEveryKeyNormalized);
    EXPECT_EQ(toYaml(parseConfig(kEveryKeyIni, {})), kEveryKeyNormalized);
    EXPECT_EQ(toYaml(parseConfig(kEveryKeyNormalized, {})), kEveryKeyNormalized);
}

TEST(ConfigEngineKeys, DefaultsAreLeftOutButForTheAlwaysWrittenKeys) {
    const std::string yaml =
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
        "    value: 7\n    engine: slide\n    param:\n      T: 1\n";
    EXPECT_EQ(toYaml(parseConfig(yaml, {})),
              "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    - type: pid\n"
              "      value: 7\n      max_threads: 1\n      engine: slide\n      param:\n"
              "        T: 1\n      scanner: auto\n      swapper: auto\n      swap_flag: no\n");
}

TEST(ConfigEngineKeys, UnknownEngineNamesKeyValueLineAndTheEnginesThere) {
    const ConfigError yaml = rejectionOf(
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
        "    value: 7\n    engine: thirdparty\n    param:\n      T: 1\n");
    EXPECT_STREQ(yaml.what(),
                 "line 8, column 13: options.policies.engine: value 'thirdparty' is not a "
                 "known engine; allowed slide | cslide | psi | damon");
    const ConfigError legacy = rejectionOf(
        "options:\n\tloop : 1\n\tinterval : 1\n\tsleep : 1\n\tpolicies:\n\t\ttype : pid\n"
        "\t\tvalue : 7\n\t\tengine : thirdparty\n\t\tparam:\n\t\t\tT : 1\n");
    EXPECT_EQ(legacy.line(), 8);
    EXPECT_EQ(legacy.key(), "options.policies.engine");
    const ConfigError ini = rejectionOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=thirdparty\nproject=p\n");
    EXPECT_STREQ(ini.what(),
                 "line 7, column 6: [engine].name: value 'thirdparty' is not an engine this etmem "
                 "has; allowed slide | cslide | psi | damon");
}

TEST(ConfigEngineKeys, MessagesListATasksKeysInTheirOrder) {
    const ConfigError scalar =
        rejectionOf("options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies: 3\n");
    EXPECT_NE(std::string(scalar.what())
                  .find("expected one task (a section with the keys type, value, max_threads, "
                        "engine, param, scanner, swapper, name, swap_threshold, dram_percent, "
                        "swap_flag, max_swap_rate, pressure_limit, cold_cycles, mode, "
                        "cold_destination, then_swap_after, node_hot_reserve, "
                        "max_migrate_rate, node_pair, hot_threshold, node_mig_quota, vm_flags, "
                        "anon_only, ign_host, pressure, reclaim_rate_min, reclaim_rate_max, "
                        "reclaim_rate, reclaim_max_bytes, limit_min_bytes, limit_min_ratio, "
                        "max_size, min_size, max_acc, min_acc, max_age, min_age and action) or "
                        "a list"),
              std::string::npos)
        << scalar.what();
    const ConfigError ini = rejectionOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=slide\nproject=p\n"
        "[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\nzzzzzzzzzz=1\n");
    EXPECT_NE(std::string(ini.what())
                  .find("allowed here: project, engine, name, type, value, cg_dir, T, max_threads, "
                        "swap_threshold, dram_percent, swap_flag, scanner, swapper, "
                        "max_swap_rate, pressure_limit, cold_cycles"),
              std::string::npos)
        << ini.what();
}

TEST(ConfigEngineKeys, AnEnginesRequiredKeyIsNamedInEveryForm) {
    const ConfigError yaml = rejectionOf(
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
        "    value: 7\n    engine: slide\n    param:\n      X: 1\n");
    EXPECT_EQ(yaml.key(), "options.policies.param.X") << yaml.what();
    const ConfigError missing = rejectionOf(
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
        "    value: 7\n    engine: slide\n");
    EXPECT_EQ(missing.key(), "options.policies.param") << missing.what();
    const ConfigError ini = rejectionOf(
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n[engine]\nname=slide\nproject=p\n"
        "[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\n");
    EXPECT_STREQ(ini.what(),
                 "line 9, column 1: [task].T: required key 'T' is missing from the [task] "
                 "section that starts here");
}

}  // namespace
}  // namespace etmem
