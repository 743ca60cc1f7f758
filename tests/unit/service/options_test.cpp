// SPDX-License-Identifier: MulanPSL-2.0
#include "options.hpp"

#include <gtest/gtest.h>

namespace etmem::service {
namespace {

TEST(DaemonOptions, DefaultsWithoutArguments) {
    auto parsed = parseDaemonOptions({});
    ASSERT_TRUE(parsed.options);
    EXPECT_EQ(parsed.options->logLevel, LogLevel::Info);
    EXPECT_EQ(parsed.options->instance, "");
}

TEST(DaemonOptions, ShortLongAndInlineForms) {
    for (auto args :
         std::vector<std::vector<std::string>>{{"-l", "0", "-s", "dt_socket"},
                                               {"--log-level", "0", "--socket", "dt_socket"},
                                               {"--log-level=0", "--socket=dt_socket"},
                                               {"-l0", "-sdt_socket"}}) {
        auto parsed = parseDaemonOptions(args);
        ASSERT_TRUE(parsed.options) << parsed.output;
        EXPECT_EQ(parsed.options->logLevel, LogLevel::Debug);
        EXPECT_EQ(parsed.options->instance, "dt_socket");
    }
}

TEST(DaemonOptions, ModeSystemctlOf11IsAccepted) {
    for (std::string mode : {"-m", "--mode-systemctl"}) {
        auto parsed = parseDaemonOptions({"-l", "0", "-s", "etmemd_socket", mode});
        ASSERT_TRUE(parsed.options) << parsed.output;
        EXPECT_EQ(parsed.options->instance, "etmemd_socket");
    }
    EXPECT_FALSE(parseDaemonOptions({"-mx"}).options);
    EXPECT_NE(daemonUsage().find("-m|--mode-systemctl"), std::string::npos);
}

TEST(DaemonOptions, LogLevelRange) {
    EXPECT_TRUE(parseDaemonOptions({"-l", "3"}).options);
    for (std::string bad : {"4", "-1", "x", "", "1.5", "01x"}) {
        auto parsed = parseDaemonOptions({"-l", bad});
        EXPECT_FALSE(parsed.options) << bad;
        EXPECT_EQ(parsed.exitCode, 2);
        EXPECT_NE(parsed.output.find("Usage:"), std::string::npos);
    }
}

TEST(DaemonOptions, SocketNameLength) {
    EXPECT_TRUE(parseDaemonOptions({"-s", std::string(107, 'a')}).options);
    auto parsed = parseDaemonOptions({"-s", std::string(108, 'a')});
    EXPECT_FALSE(parsed.options);
    EXPECT_EQ(parsed.exitCode, 2);
    EXPECT_NE(parsed.output.find("107"), std::string::npos);
}

// Each instance its own directory: the main one keeps /var/lib/etmem, -s NAME gets what
// etmemd@NAME.service's StateDirectory=etmem@%i names; systemd's $STATE_DIRECTORY wins.
TEST(DaemonOptions, StateDirectoryPerInstance) {
    EXPECT_EQ(stateDirectoryFor("", nullptr), "/var/lib/etmem");
    EXPECT_EQ(stateDirectoryFor("", ""), "/var/lib/etmem");
    EXPECT_EQ(stateDirectoryFor("dt_socket", nullptr), "/var/lib/etmem@dt_socket");
    EXPECT_EQ(stateDirectoryFor("a/b c", nullptr), "/var/lib/etmem@a-b\\x20c");
    EXPECT_EQ(stateDirectoryFor(".hidden", nullptr), "/var/lib/etmem@\\x2ehidden");
    EXPECT_EQ(stateDirectoryFor("x", "/run/s:/other"), "/run/s");
    EXPECT_NE(stateDirectoryFor("a", nullptr), stateDirectoryFor("b", nullptr));
    auto longest = stateDirectoryFor(std::string(107, '\x01'), nullptr);
    EXPECT_LE(longest.filename().string().size(), 255u);
}

TEST(DaemonOptions, UsageErrorsExitTwo) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"-x"}, {"--bogus"}, {"extra"}, {"-l"}, {"-s"}, {"--help=1"}}) {
        auto parsed = parseDaemonOptions(args);
        EXPECT_FALSE(parsed.options);
        EXPECT_EQ(parsed.exitCode, 2) << args[0];
    }
}

TEST(DaemonOptions, VersionExitsZeroWithTheBuildsVersion) {
    for (std::string flag : {"-V", "--version"}) {
        auto parsed = parseDaemonOptions({"-l", "1", flag});
        EXPECT_FALSE(parsed.options);
        EXPECT_EQ(parsed.exitCode, 0);
        EXPECT_EQ(parsed.output, std::string("etmemd ") + ETMEM_VERSION + "\n");
    }
    EXPECT_EQ(parseDaemonOptions({"--version=1"}).exitCode, 2);
}

TEST(DaemonOptions, HelpExitsZero) {
    for (std::string flag : {"-h", "--help"}) {
        auto parsed = parseDaemonOptions({flag});
        EXPECT_FALSE(parsed.options);
        EXPECT_EQ(parsed.exitCode, 0);
        EXPECT_NE(parsed.output.find("-l|--log-level"), std::string::npos);
        EXPECT_NE(parsed.output.find("-s|--socket"), std::string::npos);
    }
}

}  // namespace
}  // namespace etmem::service
