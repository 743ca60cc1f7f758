// SPDX-License-Identifier: MulanPSL-2.0
// A cycle's targets, watched together by one kdamond, and each target's share of what it saw.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etmem/kernel/memory_map.hpp"
#include "etmem/process.hpp"
#include "etmem/scanners/damon.hpp"
#include "scanners/damon/window_collector.hpp"

namespace etmem::scanners::damon {

// Address ranges [start, end) accessed in any window since the last take(): the union of
// the accessed regions of every aggregation window, whatever their bounds were then.
class AccessedRanges {
  public:
    void add(std::uint64_t start, std::uint64_t end);
    std::map<std::uint64_t, std::uint64_t> take() { return std::exchange(ranges_, {}); }

  private:
    std::map<std::uint64_t, std::uint64_t> ranges_;
};

// One kdamond for up to kMaxTargetsPerKdamond targets: one context, a target each, and a
// `stat` scheme per target whose `target` filter passes only that target's regions, so each
// scheme's tried regions are one target's (the core applies that filter before it records
// a tried region). One kdamond, not one per target, because DAMON's sysfs serves a single
// `update_schemes_tried_regions` request at a time for all kdamonds and holds its lock for
// the whole window the request waits for: with a kdamond per target each would see only
// every n-th window, and setting up the next target would find the lock taken.
class DamonMonitor final : private WindowListener {
  public:
    DamonMonitor(KernelPaths paths, DamonTuning tuning)
        : paths_(std::move(paths)), tuning_(std::move(tuning)) {}
    ~DamonMonitor() override;

    // Whether a target watched now must go to another monitor: this one is on, or has as
    // many targets as one kdamond takes.
    bool closed();

    // Adds a target before start(); returns its member index.
    std::size_t add(const Target& target, std::span<const Vma> vmas);

    // Claims a kdamond and turns it on for every member (once; later calls return at once).
    // A failure is kept and thrown by every member's next awaitWindow(), so each target
    // reports it.
    void start(std::stop_token stop);

    // Waits for the window in flight (it holds the end of the caller's interval), then
    // returns the ranges the member accessed in any window since its last call. Throws
    // TargetGone, BackendUnavailable.
    std::map<std::uint64_t, std::uint64_t> awaitWindow(std::size_t index, std::stop_token stop);

  private:
    struct Member {
        Target target;
        std::vector<Vma> vmas;
        bool watched = false;  // in the kdamond's context (alive when it was switched on)
        AccessedRanges accessed;
    };

    void switchOn(std::stop_token stop);
    void turnOff();
    void windowClosed(std::vector<Regions> accessed) override;
    void collectionEnded(std::optional<std::string> failure) override;

    const KernelPaths paths_;
    const DamonTuning tuning_;
    std::mutex startMutex_;
    bool started_ = false;                   // guarded by startMutex_
    std::optional<KdamondClaim> kdamond_;    // set by start()
    DamonAttrs attrs_;                       // set by start()
    std::vector<std::size_t> schemeMember_;  // scheme/target index -> member; set by start()

    std::mutex mutex_;
    std::condition_variable_any changed_;
    std::vector<Member> members_;  // guarded by mutex_ (grows only before start())
    std::uint64_t windows_ = 0;    // windows read so far; guarded by mutex_
    bool gone_ = false;            // guarded by mutex_
    bool failed_ = false;          // guarded by mutex_
    std::string failure_;          // guarded by mutex_
    std::jthread collector_;       // last: it uses everything above
};

}  // namespace etmem::scanners::damon
