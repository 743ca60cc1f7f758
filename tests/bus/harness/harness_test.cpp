// SPDX-License-Identifier: MulanPSL-2.0
// Checks of the harness itself, runnable before etmemd exists: if these fail, a failing bus
// test says nothing about etmemd.
#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "bus_harness.hpp"
#include "json_lite.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;

TEST(Harness, RunCommandCapturesOutputAndExitCode) {
    auto result =
        runCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, currentEnvironment());
    EXPECT_FALSE(result.timedOut);
    EXPECT_TRUE(result.status.exited);
    EXPECT_EQ(result.status.code, 3);
    EXPECT_EQ(result.out, "out\n");
    EXPECT_EQ(result.errLines(), std::vector<std::string>{"err"});
}

TEST(Harness, RunCommandFeedsLargeInput) {
    std::string input(3 << 20, 'x');
    auto result = runCommand({"/usr/bin/wc", "-c"}, currentEnvironment(), 20s, input);
    EXPECT_TRUE(result.status.success());
    EXPECT_EQ(std::stoul(result.out), input.size());
}

TEST(Harness, RunCommandKillsOnTimeout) {
    auto start = std::chrono::steady_clock::now();
    auto result = runCommand({"/bin/sleep", "30"}, currentEnvironment(), 200ms);
    EXPECT_TRUE(result.timedOut);
    EXPECT_EQ(result.status.signal, SIGKILL);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(Harness, ProcessWaitAndSignal) {
    auto child = Process::spawn({"/bin/sleep", "30"}, currentEnvironment());
    EXPECT_TRUE(child.alive());
    EXPECT_FALSE(child.waitFor(50ms));
    child.sendSignal(SIGTERM);
    auto status = child.waitFor(5s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->signal, SIGTERM);
    EXPECT_FALSE(child.alive());
}

// Sends one datagram to `path` the way sd_notify does.
void sendDatagram(const std::filesystem::path& path, const std::string& message) {
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(fd.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ASSERT_EQ(sendto(fd.get(), message.data(), message.size(), 0,
                     reinterpret_cast<const sockaddr*>(&address), sizeof address),
              static_cast<ssize_t>(message.size()));
}

TEST(Harness, NotifySocketReceivesAssignments) {
    TempDir dir;
    NotifySocket notify(dir / "notify");
    EXPECT_FALSE(notify.waitFor("READY=1", 50ms));
    sendDatagram(notify.path(), "STATUS=two words\nREADY=1");
    sendDatagram(notify.path(), "STATUS=later");
    ASSERT_TRUE(notify.waitFor("READY=1", 2s));
    ASSERT_TRUE(notify.waitFor("STATUS=", 2s));
    EXPECT_TRUE(eventually([&] { return notify.lastStatus() == "later"; }, 2s));
    EXPECT_FALSE(notify.seen("STOPPING=1"));
    EXPECT_EQ(notify.received().size(), 3u);
}

TEST(Harness, PrivateBusAnswersAndBusctlReachesIt) {
    TempDir dir;
    PrivateBus bus(buildPrograms("", ""), dir.path());
    auto connection = sdbus::createSessionBusConnectionWithAddress(bus.address());
    auto driver = sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::string id;
    driver->callMethod("GetId").onInterface("org.freedesktop.DBus").storeResultsTo(id);
    EXPECT_EQ(id.size(), 32u);
    auto result =
        runCommand({ETMEM_BUSCTL, "--address=" + bus.address(), "call", "org.freedesktop.DBus",
                    "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId"},
                   bus.environment());
    EXPECT_TRUE(result.status.success()) << result.err;
    EXPECT_NE(result.out.find(id), std::string::npos) << result.out;
}

TEST(Harness, PrivateBusDeniesOwningEtmemNameToOthersThanRoot) {
    TempDir dir;
    PrivateBus bus(buildPrograms("", ""), dir.path());
    auto connection = sdbus::createSessionBusConnectionWithAddress(bus.address());
    // Names nobody's policy grants stay denied, as on the system bus.
    EXPECT_THROW(connection->requestName("org.example.NotAllowed"), sdbus::Error);
    if (geteuid() == 0) {
        EXPECT_NO_THROW(connection->requestName("org.openeuler.Etmem"));
    }
}

TEST(Harness, JsonReaderAcceptsAndRejects) {
    auto value = parseJson(R"({"projects": [{"name": "a\u0041", "cycles": 3}], "ok": true})");
    ASSERT_TRUE(value);
    EXPECT_TRUE(value->containsString("aA"));
    ASSERT_NE(value->member("projects"), nullptr);
    EXPECT_EQ(value->member("projects")->items.size(), 1u);
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "tru", "1 2", "\"\n\""}) {
        std::string error;
        EXPECT_FALSE(parseJson(bad, &error)) << bad;
        EXPECT_FALSE(error.empty());
    }
}

}  // namespace
}  // namespace etmem::test
