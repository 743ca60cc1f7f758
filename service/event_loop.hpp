// SPDX-License-Identifier: MulanPSL-2.0
// etmemd's single event loop: the bus connection, signals, work posted by worker threads,
// and the watchdog ping, all on one thread — so the registry and the bus objects are only
// ever touched from here and need no locks.
//
// Priorities, highest first: signals, work posted by workers and due timers, then bus
// messages in bounded batches. Signals are looked at between any two bus messages, so a
// SIGTERM is acted on at once even with thousands of calls queued; posted work and the
// watchdog ping run between batches, so a flood of calls starves neither.
//
// Why not sd-event: sdbus-c++ 1.2 (Debian 12) cannot attach a connection to an sd_event
// (its headers have no attachSdEventLoop; later releases do); an io source over its fd would need a
// prepare hook re-reading the fd's events and timeout each turn, which is this loop again. What
// sd-event would add (signal sources, timers, sd_event_set_watchdog) is a signalfd, one timer and
// one poll here; see the README.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "etmem/unique_fd.hpp"

struct sd_bus;

namespace sdbus {
class IConnection;
}

namespace etmem::service {

class EventLoop {
  public:
    using Handler = std::function<void()>;

    // Blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 and SIGALRM in the calling thread
    // (and so in every thread it starts later) and receives them through a signalfd
    // instead: none of them can kill the daemon unannounced. SIGPIPE is ignored, so a
    // closed stderr or notify socket is an error return, not death.
    explicit EventLoop(sdbus::IConnection& bus);

    // Runs `work` on the loop's thread. Safe from any thread.
    void post(Handler work);
    void onSignal(std::function<void(int signal)> handler) { signalHandler_ = std::move(handler); }
    // Runs `tick` every `period`, between batches of bus messages; any number of them.
    void every(std::chrono::microseconds period, Handler tick);
    // Told what the bus library said when handling one message failed while the connection
    // stayed up (e.g. one reply could not be sent): that caller loses its answer, the loop
    // goes on. Only a lost connection ends run().
    void onMessageFailed(std::function<void(const std::string&)> handler) {
        messageFailedHandler_ = std::move(handler);
    }

    enum class Exit { Quit, BusLost };
    struct Outcome {
        Exit why = Exit::Quit;
        std::string detail;  // for BusLost: what the bus library said
    };
    // Until quit() or until the bus connection is lost; returns which.
    Outcome run();
    void quit() { quit_ = true; }

  private:
    void runPosted();
    void readSignals();
    void runDueTicks();
    // Processes at most a batch of bus messages; false when none was waiting.
    bool processBusBatch();
    int pollTimeoutMs(std::uint64_t busTimeoutUsec) const;

    sdbus::IConnection& bus_;
    sd_bus* rawBus_;     // the same connection, to tell a failed message from a lost bus
    UniqueFd wakeFd_;    // eventfd: posted work is waiting
    UniqueFd signalFd_;  // signalfd for the blocked signals
    std::mutex postedMutex_;
    std::deque<Handler> posted_;
    std::function<void(int)> signalHandler_;
    std::function<void(const std::string&)> messageFailedHandler_;
    struct Timer {
        std::chrono::microseconds period;
        Handler tick;
        std::chrono::steady_clock::time_point next;
    };
    std::vector<Timer> timers_;
    bool quit_ = false;
};

}  // namespace etmem::service
