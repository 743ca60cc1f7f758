// SPDX-License-Identifier: MulanPSL-2.0
// Texts that hold something but no config are reported for what they are, never as empty.
#include <gtest/gtest.h>

#include <string>

#include "etmem/config.hpp"

namespace etmem {
namespace {

std::string rejection(const std::string& text) {
    try {
        parseConfig(text, ParseOptions{2});
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "accepted: " << text;
    return {};
}

TEST(ConfigNotEmpty, LoneCommaIsShownNotCalledEmpty) {
    std::string message = rejection(",");
    EXPECT_EQ(message.find("empty"), std::string::npos) << message;
    EXPECT_EQ(message,
              "line 1, column 1: ',' is not a config; a config is an 'options:' section with "
              "loop, interval, sleep and policies");
}

TEST(ConfigNotEmpty, CrOnlyLineEndingsAreNamed) {
    std::string message = rejection("options:\r  loop: 1\r  interval: 1\r  sleep: 1\r");
    EXPECT_EQ(message.find("empty"), std::string::npos) << message;
    EXPECT_NE(message.find("CR-only (classic Mac) line endings"), std::string::npos) << message;
    EXPECT_NE(message.find("line 1, column 9"), std::string::npos) << message;
}

TEST(ConfigNotEmpty, CrlfIsStillAccepted) {
    std::string text =
        "options:\r\n  loop: 1\r\n  interval: 1\r\n  sleep: 1\r\n  policies:\r\n    type: pid\r\n"
        "    value: 1\r\n    engine: slide\r\n    param:\r\n      T: 1\r\n";
    EXPECT_NO_THROW(parseConfig(text, ParseOptions{2}));
}

TEST(ConfigNotEmpty, ReallyEmptyIsStillEmpty) {
    EXPECT_NE(rejection("").find("the config is empty"), std::string::npos);
    EXPECT_NE(rejection("  \n# only a comment\n").find("the config is empty"), std::string::npos);
}

// Deep flow nesting is refused before yaml-cpp sees it (1 MiB of '[' peaked at ~240 MiB).
TEST(ConfigNesting, DeepNestingIsRefusedEarly) {
    std::string message = rejection(std::string(1024 * 1024, '['));
    EXPECT_EQ(message,
              "line 1, column 33: lists or maps nested deeper than 32 levels; an etmem config "
              "needs two");
    EXPECT_NE(rejection("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\noptions: [1]\n")
                  .find("options"),
              std::string::npos);  // brackets in a comment do not count
}

// max_threads against the cores: accepted by parseConfig whatever the host, then lowered to
// 2*cores+1 by fitToHost with a warning naming key, value and bound (etmem 1.1's rule).
TEST(ConfigHostLimits, MaxThreadsAboveTheHostIsLoweredWithAWarning) {
    std::string text =
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
        "    value: 1\n    max_threads: 9\n    engine: slide\n    param:\n      T: 1\n";
    ProjectConfig config = parseConfig(text, ParseOptions{2});
    EXPECT_EQ(config.tasks.at(0).maxThreads, 9u);
    ProjectConfig roomy = config;
    EXPECT_TRUE(fitToHost(roomy, 4).empty());
    EXPECT_EQ(roomy.tasks.at(0).maxThreads, 9u);
    std::vector<std::string> warnings = fitToHost(config, 2);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0],
              "options.policies.max_threads: value 9 is more than this machine allows; 5 used "
              "(2*cores+1 with 2 cores)");
    EXPECT_EQ(config.tasks.at(0).maxThreads, 5u);
    EXPECT_EQ(hostMaxThreads(1), 3u);
}

// Values wrong on every machine stay errors, in every form.
TEST(ConfigHostLimits, MaxThreadsZeroNegativeOrTextIsRefused) {
    for (std::string value : {"0", "-1", "ten", "4294967296"}) {
        std::string text =
            "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  policies:\n    type: pid\n"
            "    value: 1\n    max_threads: " +
            value + "\n    engine: slide\n    param:\n      T: 1\n";
        try {
            parseConfig(text, ParseOptions{2});
            ADD_FAILURE() << value << " accepted";
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.key(), "options.policies.max_threads") << e.what();
        }
    }
    const std::string ini =
        "[project]\nname=p\nloop=1\ninterval=1\nsleep=1\n\n[engine]\nname=slide\n"
        "project=p\n\n[task]\nproject=p\nengine=slide\nname=t\ntype=pid\nvalue=1\n"
        "T=1\nmax_threads=10\n";
    ProjectConfig fromIni = parseConfig(ini, ParseOptions{1});
    EXPECT_EQ(fromIni.tasks.at(0).maxThreads, 10u);  // etmem 1.1's own test value
}

}  // namespace
}  // namespace etmem
