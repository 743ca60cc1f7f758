// SPDX-License-Identifier: MulanPSL-2.0
// The optional per-task backend keys: scanner and swapper.
#include <gtest/gtest.h>

#include "etmem/config.hpp"

namespace etmem {
namespace {

std::string taskWith(const std::string& extra) {
    return "options:\n  loop: 2\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
           "    value: 1\n    engine: slide\n    param:\n      T: 1\n" +
           extra;
}

TEST(ConfigBackendKeys, DefaultToAuto) {
    ProjectConfig config = parseConfig(taskWith(""), {});
    EXPECT_EQ(config.tasks[0].slide.scanner, "auto");
    EXPECT_EQ(config.tasks[0].slide.swapper, "auto");
}

TEST(ConfigBackendKeys, AcceptEveryBackend) {
    for (std::string scanner : {"auto", "idle_page", "damon", "idle_pages"}) {
        ProjectConfig config = parseConfig(taskWith("    scanner: " + scanner + "\n"), {});
        EXPECT_EQ(config.tasks[0].slide.scanner, scanner);
        EXPECT_EQ(parseConfig(toYaml(config), {}), config);
    }
    for (std::string swapper : {"auto", "madvise", "swap_pages"}) {
        ProjectConfig config = parseConfig(taskWith("    swapper: " + swapper + "\n"), {});
        EXPECT_EQ(config.tasks[0].slide.swapper, swapper);
        EXPECT_EQ(parseConfig(toYaml(config), {}), config);
    }
}

TEST(ConfigBackendKeys, UnknownBackendNamesKeyValueLineAndChoices) {
    try {
        parseConfig(taskWith("    scanner: kstaled\n"), {});
        FAIL() << "unknown scanner accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), 11);
        EXPECT_EQ(e.key(), "options.policies.scanner");
        EXPECT_EQ(e.value(), "kstaled");
        std::string what = e.what();
        EXPECT_NE(what.find("idle_page"), std::string::npos) << what;
        EXPECT_NE(what.find("damon"), std::string::npos) << what;
    }
    EXPECT_THROW(parseConfig(taskWith("    swapper: zswap\n"), {}), ConfigError);
    EXPECT_THROW(parseConfig(taskWith("    swapper: [madvise]\n"), {}), ConfigError);
}

TEST(ConfigBackendKeys, LineFormReadsThemToo) {
    const std::string legacy =
        "options:\n\tloop : 1\n\tinterval : 1\n\tsleep : 1\n\tpolicies:\n\t\ttype : pid\n"
        "\t\tvalue : 7\n\t\tengine : slide\n\t\tscanner : damon\n\t\tparam:\n\t\t\tT : 1\n";
    EXPECT_EQ(parseConfig(legacy, {}).tasks[0].slide.scanner, "damon");
}

}  // namespace
}  // namespace etmem
