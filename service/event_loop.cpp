// SPDX-License-Identifier: MulanPSL-2.0
#include "event_loop.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>
#include <time.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>

#include "raw_bus.hpp"

namespace etmem::service {
namespace {

// Bus messages handled before signals, posted work and timers get another look. Signals
// are also read between any two messages; this bounds how long the others wait.
constexpr int kBusBatch = 32;

sigset_t handledSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM}) sigaddset(&set, signal);
    return set;
}

std::uint64_t monotonicNowUsec() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
           static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

}  // namespace

EventLoop::EventLoop(sdbus::IConnection& bus) : bus_(bus), rawBus_(rawBus(bus)) {
    // A write to a closed pipe (stderr of a gone terminal or logger) then fails with EPIPE.
    if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        throw std::system_error(errno, std::generic_category(), "cannot ignore SIGPIPE");
    sigset_t set = handledSignals();
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot block signals");
    signalFd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    wakeFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!signalFd_ || !wakeFd_)
        throw std::system_error(errno, std::generic_category(), "cannot create event fds");
}

void EventLoop::post(Handler work) {
    {
        std::lock_guard lock(postedMutex_);
        posted_.push_back(std::move(work));
    }
    std::uint64_t one = 1;
    // A full counter still wakes the loop, so a failed write loses nothing.
    [[maybe_unused]] auto written = ::write(wakeFd_.get(), &one, sizeof one);
}

void EventLoop::every(std::chrono::microseconds period, Handler tick) {
    timers_.push_back({period, std::move(tick), std::chrono::steady_clock::now() + period});
}

void EventLoop::runPosted() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto readBytes = ::read(wakeFd_.get(), &count, sizeof count);
    std::deque<Handler> batch;
    {
        std::lock_guard lock(postedMutex_);
        batch.swap(posted_);
    }
    for (auto& work : batch) work();
}

void EventLoop::readSignals() {
    signalfd_siginfo info{};
    while (::read(signalFd_.get(), &info, sizeof info) == sizeof info) {
        if (signalHandler_) signalHandler_(static_cast<int>(info.ssi_signo));
    }
}

void EventLoop::runDueTicks() {
    for (Timer& timer : timers_) {
        if (std::chrono::steady_clock::now() < timer.next) continue;
        timer.next = std::chrono::steady_clock::now() + timer.period;
        timer.tick();
    }
}

bool EventLoop::processBusBatch() {
    for (int handled = 0; handled < kBusBatch; ++handled) {
        try {
            if (!bus_.processPendingRequest()) return handled > 0;
        } catch (const sdbus::Error& error) {
            // sd-bus reports a failure to answer one message the same way as a closed
            // connection; only the latter ends the loop.
            if (sd_bus_is_open(rawBus_) <= 0) throw;
            if (messageFailedHandler_) messageFailedHandler_(error.getMessage());
        }
        readSignals();
        if (quit_) return true;
    }
    return true;
}

int EventLoop::pollTimeoutMs(std::uint64_t busTimeoutUsec) const {
    std::int64_t timeoutMs = -1;
    if (busTimeoutUsec != std::numeric_limits<std::uint64_t>::max()) {
        std::uint64_t now = monotonicNowUsec();
        timeoutMs = busTimeoutUsec > now
                        ? static_cast<std::int64_t>((busTimeoutUsec - now + 999) / 1000)
                        : 0;
    }
    for (const Timer& timer : timers_) {
        auto untilTick = std::chrono::duration_cast<std::chrono::milliseconds>(
                             timer.next - std::chrono::steady_clock::now())
                             .count();
        untilTick = std::max<std::int64_t>(untilTick, 0);
        timeoutMs = timeoutMs < 0 ? untilTick : std::min(timeoutMs, untilTick);
    }
    return static_cast<int>(std::min<std::int64_t>(timeoutMs, std::numeric_limits<int>::max()));
}

EventLoop::Outcome EventLoop::run() {
    quit_ = false;
    try {
        while (!quit_) {
            readSignals();
            if (quit_) break;
            runPosted();
            runDueTicks();
            // More messages may be queued: go round again before sleeping in poll.
            if (processBusBatch()) continue;
            auto busPoll = bus_.getEventLoopPollData();
            pollfd fds[3] = {{busPoll.fd, busPoll.events, 0},
                             {wakeFd_.get(), POLLIN, 0},
                             {signalFd_.get(), POLLIN, 0}};
            int ready = ::poll(fds, 3, pollTimeoutMs(busPoll.timeout_usec));
            if (ready < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "poll failed");
        }
    } catch (const sdbus::Error& error) {
        // sd-bus reports a closed connection (dbus-daemon gone) as an error of the next
        // process or poll-data call; there is no way back from it on this connection.
        return {Exit::BusLost, error.getMessage()};
    }
    return {Exit::Quit, {}};
}

}  // namespace etmem::service
