// etmemd's single event loop: the bus connection, signals, work posted by worker threads,
// and the watchdog ping, all on one thread — so the registry and the bus objects are only
// ever touched from here and need no locks.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "etmem/unique_fd.hpp"

namespace sdbus {
class IConnection;
}

namespace etmem::service {

class EventLoop {
  public:
    using Handler = std::function<void()>;

    // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in threads it starts
    // later) and receives them through a signalfd instead.
    explicit EventLoop(sdbus::IConnection& bus);

    // Runs `work` on the loop's thread. Safe from any thread.
    void post(Handler work);
    void onSignal(std::function<void(int signal)> handler) { signalHandler_ = std::move(handler); }
    void every(std::chrono::microseconds period, Handler tick);

    // Until quit(); returns after finishing the current iteration.
    void run();
    void quit() { quit_ = true; }

  private:
    void runPosted();
    void readSignals();
    int pollTimeoutMs(std::uint64_t busTimeoutUsec) const;

    sdbus::IConnection& bus_;
    UniqueFd wakeFd_;    // eventfd: posted work is waiting
    UniqueFd signalFd_;  // signalfd for the blocked signals
    std::mutex postedMutex_;
    std::deque<Handler> posted_;
    std::function<void(int)> signalHandler_;
    std::optional<std::chrono::microseconds> period_;
    Handler tick_;
    std::chrono::steady_clock::time_point nextTick_;
    bool quit_ = false;
};

}  // namespace etmem::service
