// SPDX-License-Identifier: MulanPSL-2.0
// polkit's password prompt through etmem, end to end: a non-root user runs etmem on a
// terminal, polkitd (real, on the private bus) wants that user's password, pkttyagent
// (started by etmem) asks for it, polkit's setuid helper checks it with PAM, and etmemd acts
// on polkit's answer.
#include <unistd.h>

#include <string>

#include "polkit_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;

// Named after the test process: ctest runs this suite's tests side by side, and one test's
// teardown must not delete the account another is prompting for.
const std::string kUser = "etmemtest-p" + std::to_string(::getpid());
const std::string kGroup = "etmemtest-m" + std::to_string(::getpid());

// Members of the test's group may manage etmem after proving who they are (AUTH_SELF):
// polkit then needs the caller's own password, which only the prompt can get.
std::string authSelfRules() {
    return std::string(R"js(
polkit.addRule(function(action, subject) {
    if (action.id == "org.openeuler.etmem.manage" && subject.isInGroup(")js") +
           kGroup + R"js(")) {
        return polkit.Result.AUTH_SELF;
    }
});
)js";
}

class PasswordPrompt : public WithPolkit {
  protected:
    void SetUp() override {
        WithPolkit::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        account_ = std::make_unique<TestAccount>(kUser, kGroup, password_);
        ASSERT_NO_FATAL_FAILURE(startPolkitd(authSelfRules()));
        addProject("p", validConfig(1200));
    }
    // `etmem migrate start -n p` as the test user on a terminal of its own, up to polkit's
    // prompt, where `typed` is typed.
    std::unique_ptr<Terminal> startAndAnswer(const std::string& typed) {
        auto argv = onWellKnownSystemBus(
            *bus_, asUser(kUser, {programs().etmem, "migrate", "start", "-n", "p"}));
        auto terminal = std::make_unique<Terminal>(argv, bus_->environment());
        EXPECT_TRUE(terminal->waitFor("AUTHENTICATING FOR org.openeuler.etmem.manage", 20s))
            << terminal->output();
        EXPECT_TRUE(terminal->waitFor("Authenticating as: " + kUser, 5s)) << terminal->output();
        EXPECT_TRUE(terminal->waitFor("Password:", 5s)) << terminal->output();
        EXPECT_TRUE(terminal->waitForEchoOff(5s)) << "the password would be shown";
        terminal->type(typed + "\n");
        return terminal;
    }
    std::string password_ = randomPassword();
    std::unique_ptr<TestAccount> account_;
};

TEST_F(PasswordPrompt, TheRightPasswordStartsTheProject) {
    auto terminal = startAndAnswer(password_);
    auto status = terminal->waitExit(30s);
    ASSERT_TRUE(status) << "etmem still runs after the password; terminal:\n" << terminal->output();
    EXPECT_TRUE(status->success()) << describe(*status) << "; terminal:\n" << terminal->output();
    EXPECT_NE(terminal->output().find("AUTHENTICATION COMPLETE"), std::string::npos)
        << terminal->output();
    EXPECT_EQ(terminal->output().find(password_), std::string::npos) << "the password was shown";
    EXPECT_EQ(projectState("p"), "running");
}

TEST_F(PasswordPrompt, AWrongPasswordLeavesTheProjectStoppedAndSaysSo) {
    auto terminal = startAndAnswer("not-" + password_);
    // PAM's delay after a failure is 2 s; etmemd's limit for polkit, 2 minutes, is far off.
    auto status = terminal->waitExit(30s);
    ASSERT_TRUE(status) << "etmem still runs after the password; terminal:\n" << terminal->output();
    EXPECT_TRUE(status->exited && status->code == 1) << describe(*status) << "; terminal:\n"
                                                     << terminal->output();
    // PAM said no (not, say, a helper that could not reach polkitd).
    EXPECT_NE(terminal->output().find("pam_authenticate failed: Authentication failure"),
              std::string::npos)
        << terminal->output();
    EXPECT_NE(terminal->output().find("AUTHENTICATION FAILED"), std::string::npos)
        << terminal->output();
    EXPECT_NE(terminal->output().find("etmem: Not authorized to manage etmem projects"),
              std::string::npos)
        << terminal->output();
    EXPECT_EQ(projectState("p"), "stopped");
}

}  // namespace
}  // namespace etmem::test
