// SPDX-License-Identifier: MulanPSL-2.0
// A text polkit agent for the duration of one etmem call, as systemctl starts one: when
// etmemd's polkit check needs a password, polkitd asks this agent, which prompts on the
// terminal etmem runs in.
#pragma once

#include <sys/types.h>

#include <string>

namespace etmem::cli {

inline constexpr const char* kTtyAgentPath = "/usr/bin/pkttyagent";

class PolkitAgent {
  public:
    // Starts pkttyagent for this process (`--process PID`, plus systemctl's --fallback in a
    // login session) and waits until it has registered with polkitd. Without pkttyagent, or
    // if it fails, there is no agent: the call goes on and polkit says what it needs.
    PolkitAgent();
    ~PolkitAgent();  // ends the agent
    PolkitAgent(const PolkitAgent&) = delete;
    PolkitAgent& operator=(const PolkitAgent&) = delete;

    bool running() const { return pid_ > 0; }

  private:
    pid_t pid_ = -1;
};

// Whether a mutating call may let polkit ask for a password, as systemctl decides: not
// with --no-ask-password, and only when stdin is a terminal someone can type into.
bool mayAskPassword(bool askPasswordOption);

}  // namespace etmem::cli
