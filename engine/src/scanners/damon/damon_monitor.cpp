// SPDX-License-Identifier: MulanPSL-2.0
#include "scanners/damon/damon_monitor.hpp"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "etmem/kernel/errors.hpp"
#include "scanners/damon/damon_sysfs.hpp"
#include "scanners/damon/kdamond_config.hpp"

namespace etmem::scanners::damon {

using kernel::BackendUnavailable;
using kernel::TargetGone;

void AccessedRanges::add(std::uint64_t start, std::uint64_t end) {
    auto next = ranges_.upper_bound(start);
    if (next != ranges_.begin()) {
        auto previous = std::prev(next);
        if (previous->second >= start) {
            start = previous->first;
            end = std::max(end, previous->second);
            next = ranges_.erase(previous);
        }
    }
    while (next != ranges_.end() && next->first <= end) {
        end = std::max(end, next->second);
        next = ranges_.erase(next);
    }
    ranges_.emplace(start, end);
}

DamonMonitor::~DamonMonitor() {
    collector_.request_stop();
    if (kdamond_) turnOff();
    {
        std::lock_guard lock(mutex_);
        changed_.notify_all();
    }
    if (collector_.joinable()) collector_.join();
    if (kdamond_) turnOff();  // in case the first attempt raced with the last request
}

bool DamonMonitor::closed() {
    std::lock_guard startLock(startMutex_);
    std::lock_guard lock(mutex_);
    return started_ || members_.size() >= kMaxTargetsPerKdamond;
}

std::size_t DamonMonitor::add(const Target& target, std::span<const Vma> vmas) {
    Member member;
    member.target.pid = target.pid;
    member.target.pidfd = UniqueFd(::fcntl(target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
    member.vmas.assign(vmas.begin(), vmas.end());
    std::lock_guard lock(mutex_);
    members_.push_back(std::move(member));
    return members_.size() - 1;
}

void DamonMonitor::start(std::stop_token stop) {
    std::lock_guard startLock(startMutex_);
    if (started_) return;
    started_ = true;
    try {
        kdamond_ = claimKdamond(paths_);
        std::vector<Vma> all;
        for (const auto& member : members_)
            all.insert(all.end(), member.vmas.begin(), member.vmas.end());
        attrs_ = deriveDamonAttrs(tuning_, all);
        switchOn(stop);
    } catch (const TargetGone&) {
        std::lock_guard lock(mutex_);
        gone_ = true;
        changed_.notify_all();
        return;
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        failed_ = true;
        failure_ = fmt::format("DAMON could not be set up: {}", e.what());
        changed_.notify_all();
        return;
    }
    collector_ = std::jthread([this](std::stop_token token) {
        collectWindows(token, kdamond_->dir, schemeMember_.size(),
                       std::chrono::microseconds(attrs_.aggrUs), *this);
    });
}

std::map<std::uint64_t, std::uint64_t> DamonMonitor::awaitWindow(std::size_t index,
                                                                 std::stop_token stop) {
    if (stop.stop_requested()) return {};
    std::unique_lock lock(mutex_);
    std::uint64_t wanted = windows_ + 1;
    auto deadline =
        Clock::now() + std::chrono::microseconds(2 * attrs_.aggrUs) + std::chrono::seconds(2);
    changed_.wait_until(lock, stop, deadline,
                        [&] { return windows_ >= wanted || gone_ || failed_; });
    if (stop.stop_requested()) return {};
    if (failed_) throw BackendUnavailable(failure_);
    if (gone_ || !members_[index].watched) throw TargetGone("the process exited");
    return members_[index].accessed.take();
}

// Writes the context and turns it on. A member that exited in the meantime makes the
// kernel refuse "on" (its pid is gone): it is left out and the rest tried again.
void DamonMonitor::switchOn(std::stop_token stop) {
    for (int attempt = 0;; ++attempt) {
        std::vector<std::size_t> alive;
        for (std::size_t i = 0; i < members_.size(); ++i)
            if (members_[i].target.alive()) alive.push_back(i);
        if (alive.empty()) throw TargetGone("every target exited");
        {
            std::lock_guard lock(mutex_);
            for (auto& member : members_) member.watched = false;
            for (std::size_t i : alive) members_[i].watched = true;
            schemeMember_ = alive;
        }
        // A crashed daemon may have left it running.
        if (readDamonState(kdamond_->dir, stop) == "on")
            writeDamonFile(kdamond_->dir / "state", "off", stop);
        std::vector<KdamondTarget> targets;
        for (std::size_t i : alive) targets.push_back({members_[i].target.pid, members_[i].vmas});
        writeKdamondConfig(kdamond_->dir, attrs_, targets, stop);
        try {
            writeDamonFile(kdamond_->dir / "state", "on", stop);
            break;
        } catch (const std::system_error&) {
            bool someoneExited = std::any_of(alive.begin(), alive.end(), [&](std::size_t i) {
                return !members_[i].target.alive();
            });
            if (!someoneExited || attempt >= 2) throw;
        }
    }
}

// Writes "off", retrying while the kernel answers EBUSY, for at most a second; a
// kdamond left on would keep sampling the targets after the cycle. Turning it off also
// ends a collector's wait for the window in flight.
void DamonMonitor::turnOff() {
    auto patience = std::chrono::seconds(1) + std::chrono::microseconds(attrs_.aggrUs);
    try {
        if (readDamonState(kdamond_->dir, {}, patience) == "on")
            writeDamonFile(kdamond_->dir / "state", "off", {}, patience);
    } catch (const std::exception&) {
        // It stops by itself once its targets are gone.
    }
}

// Each scheme's accessed regions join its member's ranges.
void DamonMonitor::windowClosed(std::vector<Regions> accessed) {
    std::lock_guard lock(mutex_);
    for (std::size_t s = 0; s < schemeMember_.size(); ++s)
        for (const auto& [start, end] : accessed[s])
            members_[schemeMember_[s]].accessed.add(start, end);
    ++windows_;
    changed_.notify_all();
}

void DamonMonitor::collectionEnded(std::optional<std::string> failure) {
    std::lock_guard lock(mutex_);
    if (failure)
        failed_ = true, failure_ = std::move(*failure);
    else
        gone_ = true;
    changed_.notify_all();
}

}  // namespace etmem::scanners::damon
