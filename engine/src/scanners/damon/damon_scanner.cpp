// The damon scanner: DAMON with the vaddr operations, through /sys/kernel/mm/damon/admin.
//
// A cycle's targets are watched together by one kdamond (up to kMaxTargetsPerKdamond; more
// take another): one context with a target per process, and a `stat` scheme per target
// whose target filter passes only that target's regions, so each scheme's tried regions are
// one process's. etmem never disturbs another user's kdamonds: writing nr_kdamonds recreates
// all of them, so etmem writes it only when it is 0 (nobody has any), creating a pool of
// kDamonPoolSize for itself, and records each as its own with a lock file
// <run>/damon/kdamond-<i>.lock. A kdamond is in use while its lock file is flock()ed; the
// lock ends with the process, so after a crash the kdamond is free again and the next claim
// turns it off and reuses it.
//
// Every aggregation window is read: a collector thread asks `update_schemes_tried_regions`
// (the write returns when the window in flight closes) and adds each scheme's regions with
// nr_accesses > 0 to its process's union of accessed ranges. A round waits for the window in
// flight, then reports that union as read, so an access anywhere in the interval counts
// (region granularity; the regions split down towards where hot and cold meet, bounded by
// max_nr_regions, one per 64 KiB resident by default). Pagemap's soft-dirty bit supplies the
// written signal per page, and clear_refs 4 re-arms it (and flushes the target's TLB).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "etmem/kernel/files.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/scanners/damon.hpp"
#include "etmem/slide/backends.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::scanners::damon {

using namespace etmem::slide;

namespace {

namespace fs = std::filesystem;

UniqueFd lockFile(const fs::path& path, bool create, bool wait) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (!fd) return fd;
    if (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) return UniqueFd();
    return fd;
}

using Clock = std::chrono::steady_clock;

// Writes a DAMON sysfs file that takes DAMON's sysfs lock (state and the nr_* files): the
// kernel answers EBUSY while a kdamond's tried-regions request holds it (up to a window, and
// another etmem project's kdamond may be the one), so ask again until `patience` runs out or
// stop is requested.
void writeDamonFile(const fs::path& path, std::string_view text, std::stop_token stop,
                    std::chrono::microseconds patience = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + patience;
    for (;;) {
        try {
            writeText(path, text);
            return;
        } catch (const std::system_error& e) {
            if (e.code().value() != EBUSY || Clock::now() >= deadline || stop.stop_requested())
                throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

// A kdamond's state ("on", "off"): reading it takes DAMON's sysfs lock too, so EBUSY is asked
// again until `patience` runs out; "" when it cannot be read.
std::string readDamonState(const fs::path& kdamond, std::stop_token stop = {},
                           std::chrono::microseconds patience = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + patience;
    for (;;) {
        UniqueFd fd(::open((kdamond / "state").c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return "";
        char text[16];
        ssize_t got = ::read(fd.get(), text, sizeof text);
        if (got > 0) return std::string(text, got - (text[got - 1] == '\n' ? 1 : 0));
        if (got == 0 || errno != EBUSY || Clock::now() >= deadline || stop.stop_requested())
            return "";
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace

KdamondClaim claimKdamond(const KernelPaths& paths) {
    fs::path kdamonds = paths.sys / "kernel/mm/damon/admin/kdamonds";
    fs::path runDir = paths.run / "damon";
    std::error_code ec;
    fs::create_directories(runDir, ec);
    UniqueFd admin = lockFile(runDir / "admin.lock", true, true);
    if (!admin)
        throw BackendUnavailable(fmt::format("cannot lock {}: etmemd must run as root",
                                             (runDir / "admin.lock").string()));
    auto lockOf = [&](std::uint64_t i) { return runDir / fmt::format("kdamond-{}.lock", i); };
    std::uint64_t count = readNumber(kdamonds / "nr_kdamonds");
    if (count == 0) {
        writeText(kdamonds / "nr_kdamonds", std::to_string(kDamonPoolSize));
        for (int i = 0; i < kDamonPoolSize; ++i)
            UniqueFd created(::open(lockOf(i).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
        count = kDamonPoolSize;
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        if (!fs::exists(lockOf(i))) continue;  // not etmem's
        UniqueFd claim = lockFile(lockOf(i), false, false);
        if (claim) return KdamondClaim{kdamonds / std::to_string(i), std::move(claim)};
    }
    throw BackendUnavailable(fmt::format(
        "DAMON is in use: {} kdamonds exist and none is a free one of etmem's (another tool "
        "owns them, or etmem's {} are all busy); stop the other DAMON user or use another "
        "scanner",
        count, kDamonPoolSize));
}

int releaseStaleKdamonds(const KernelPaths& paths) {
    fs::path kdamonds = paths.sys / "kernel/mm/damon/admin/kdamonds";
    fs::path runDir = paths.run / "damon";
    if (!fs::exists(runDir / "admin.lock")) return 0;  // etmem never created any here
    UniqueFd admin = lockFile(runDir / "admin.lock", false, true);
    if (!admin) return 0;
    int released = 0;
    std::uint64_t count = readNumber(kdamonds / "nr_kdamonds");
    for (std::uint64_t i = 0; i < count; ++i) {
        auto lock = runDir / fmt::format("kdamond-{}.lock", i);
        if (!fs::exists(lock)) continue;
        UniqueFd claim = lockFile(lock, false, false);
        if (!claim) continue;  // in use by a live etmem
        auto kdamond = kdamonds / std::to_string(i);
        if (readDamonState(kdamond) == "on") {
            writeDamonFile(kdamond / "state", "off", {});
            ++released;
        }
    }
    return released;
}

namespace {

// Address ranges [start, end) accessed in any window since the last take(): the union of
// the accessed regions of every aggregation window, whatever their bounds were then.
class AccessedRanges {
  public:
    void add(std::uint64_t start, std::uint64_t end) {
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
    std::map<std::uint64_t, std::uint64_t> take() { return std::exchange(ranges_, {}); }

  private:
    std::map<std::uint64_t, std::uint64_t> ranges_;
};

// A cycle's targets, watched together by one kdamond: one context, a target each, and a
// `stat` scheme per target whose `target` filter passes only that target's regions, so each
// scheme's tried regions are one target's (the core applies that filter before it records
// a tried region). One kdamond, not one per target, because DAMON's sysfs serves a single
// `update_schemes_tried_regions` request at a time for all kdamonds and holds its lock for
// the whole window the request waits for: with a kdamond per target each would see only
// every n-th window, and setting up the next target would find the lock taken.
class DamonMonitor {
  public:
    DamonMonitor(KernelPaths paths, DamonTuning tuning)
        : paths_(std::move(paths)), tuning_(std::move(tuning)) {}

    ~DamonMonitor() {
        collector_.request_stop();
        if (kdamond_) turnOff();
        {
            std::lock_guard lock(mutex_);
            changed_.notify_all();
        }
        if (collector_.joinable()) collector_.join();
        if (kdamond_) turnOff();  // in case the first attempt raced with the last request
    }

    // Whether a target watched now must go to another monitor: this one is on, or has as
    // many targets as one kdamond takes.
    bool closed() {
        std::lock_guard startLock(startMutex_);
        std::lock_guard lock(mutex_);
        return started_ || members_.size() >= kMaxTargetsPerKdamond;
    }

    // Adds a target before start(); returns its member index.
    std::size_t add(const Target& target, std::span<const Vma> vmas) {
        Member member;
        member.target.pid = target.pid;
        member.target.pidfd = UniqueFd(::fcntl(target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
        member.vmas.assign(vmas.begin(), vmas.end());
        std::lock_guard lock(mutex_);
        members_.push_back(std::move(member));
        return members_.size() - 1;
    }

    // Turns the kdamond on for every member (once; later calls return at once). A failure
    // is kept and thrown by every member's next awaitWindow(), so each target reports it.
    void start(std::stop_token stop) {
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
        collector_ = std::jthread([this](std::stop_token token) { collect(token); });
    }

    // Waits for the window in flight (it holds the end of the caller's interval), then
    // returns the ranges the member accessed in any window since its last call.
    std::map<std::uint64_t, std::uint64_t> awaitWindow(std::size_t index, std::stop_token stop) {
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

  private:
    struct Member {
        Target target;
        std::vector<Vma> vmas;
        bool watched = false;  // in the kdamond's context (alive when it was switched on)
        AccessedRanges accessed;
    };

    // Writes the context and turns it on. A member that exited in the meantime makes the
    // kernel refuse "on" (its pid is gone): it is left out and the rest tried again.
    void switchOn(std::stop_token stop) {
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
            configure(stop);
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
    void turnOff() {
        auto patience = std::chrono::seconds(1) + std::chrono::microseconds(attrs_.aggrUs);
        try {
            if (readDamonState(kdamond_->dir, {}, patience) == "on")
                writeDamonFile(kdamond_->dir / "state", "off", {}, patience);
        } catch (const std::exception&) {
            // It stops by itself once its targets are gone.
        }
    }

    // Every aggregation window, once it closes: each scheme's accessed regions join its
    // member's ranges. The write returns once the kdamond has applied the schemes at the end
    // of the window in flight; reading takes far less than a window, so none is missed.
    void collect(std::stop_token stop) {
        auto schemes = kdamond_->dir / "contexts/0/schemes";
        while (!stop.stop_requested()) {
            try {
                // Another etmem project's kdamond may hold DAMON's one request slot for up to
                // a window: wait for it rather than fail.
                writeDamonFile(
                    kdamond_->dir / "state", "update_schemes_tried_regions", stop,
                    std::chrono::seconds(2) + std::chrono::microseconds(2 * attrs_.aggrUs));
            } catch (const std::system_error& e) {
                std::lock_guard lock(mutex_);
                // The kdamond ends when all its targets exit.
                if (readDamonState(kdamond_->dir) != "on")
                    gone_ = true;
                else
                    failed_ = true, failure_ = fmt::format("DAMON: {}", e.what());
                changed_.notify_all();
                return;
            }
            if (stop.stop_requested()) return;
            std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> window(
                schemeMember_.size());
            for (std::size_t s = 0; s < schemeMember_.size(); ++s)
                window[s] = accessedRegions(schemes / std::to_string(s) / "tried_regions");
            std::lock_guard lock(mutex_);
            for (std::size_t s = 0; s < schemeMember_.size(); ++s)
                for (const auto& [start, end] : window[s])
                    members_[schemeMember_[s]].accessed.add(start, end);
            ++windows_;
            changed_.notify_all();
        }
    }

    static std::vector<std::pair<std::uint64_t, std::uint64_t>> accessedRegions(
        const fs::path& triedRegions) {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> regions;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(triedRegions, ec)) {
            if (!entry.is_directory(ec)) continue;
            if (readNumber(entry.path() / "nr_accesses") == 0) continue;
            std::uint64_t start = readNumber(entry.path() / "start");
            std::uint64_t end = readNumber(entry.path() / "end");
            if (end > start) regions.emplace_back(start, end);
        }
        return regions;
    }

    // Each member's candidates, cut into pieces of (all members' candidate bytes /
    // min_nr_regions), as its initial regions: DAMON's vaddr honours regions given at start
    // (it would otherwise spread min_nr_regions over the whole span between the two largest
    // gaps, libraries and holes included), and never merges above that size (the limit is
    // the context's, over all targets), so the grain holds from the first window on.
    // update_us is long by default, so the kernel does not swap them for its three-region
    // view during the cycle.
    void writeInitialRegions(const fs::path& regions, const Member& member, std::uint64_t grain,
                             std::stop_token stop) {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> pieces;
        for (const auto& vma : member.vmas)
            for (std::uint64_t at = vma.range.start; at < vma.range.end; at += grain)
                pieces.emplace_back(at, std::min(at + grain, vma.range.end));
        writeDamonFile(regions / "nr_regions", std::to_string(pieces.size()), stop);
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            writeText(regions / std::to_string(i) / "start", std::to_string(pieces[i].first));
            writeText(regions / std::to_string(i) / "end", std::to_string(pieces[i].second));
        }
    }

    void configure(std::stop_token stop) {
        auto context = kdamond_->dir / "contexts/0";
        writeDamonFile(kdamond_->dir / "contexts/nr_contexts", "1", stop);
        writeText(context / "operations", "vaddr");
        auto attrs = context / "monitoring_attrs";
        writeText(attrs / "intervals/sample_us", std::to_string(attrs_.sampleUs));
        writeText(attrs / "intervals/aggr_us", std::to_string(attrs_.aggrUs));
        writeText(attrs / "intervals/update_us", std::to_string(attrs_.updateUs));
        // max first: the kernel refuses min > max at commit, not at write, but keep the
        // order that is valid at every step.
        writeText(attrs / "nr_regions/max", std::to_string(attrs_.maxNrRegions));
        writeText(attrs / "nr_regions/min", std::to_string(attrs_.minNrRegions));
        std::uint64_t bytes = 0;
        for (std::size_t i : schemeMember_)
            for (const auto& vma : members_[i].vmas) bytes += vma.range.end - vma.range.start;
        std::uint64_t grain = std::max<std::uint64_t>(
            kPageSize,
            (bytes / std::max<std::uint64_t>(attrs_.minNrRegions, 1)) / kPageSize * kPageSize);
        auto targets = context / "targets";
        auto schemes = context / "schemes";
        writeDamonFile(targets / "nr_targets", std::to_string(schemeMember_.size()), stop);
        writeDamonFile(schemes / "nr_schemes", std::to_string(schemeMember_.size()), stop);
        for (std::size_t t = 0; t < schemeMember_.size(); ++t) {
            const Member& member = members_[schemeMember_[t]];
            auto target = targets / std::to_string(t);
            writeText(target / "pid_target", std::to_string(member.target.pid));
            writeInitialRegions(target / "regions", member, grain, stop);
            writeScheme(schemes / std::to_string(t), t, stop);
        }
    }

    // A `stat` scheme for target `t` alone, matching every accessed region (nr_accesses >=
    // 1): only those are read, and the kernel builds a sysfs directory per tried region each
    // window, so leaving the idle ones out keeps the cost with what is hot.
    void writeScheme(const fs::path& scheme, std::size_t t, std::stop_token stop) {
        writeText(scheme / "action", "stat");
        auto pattern = scheme / "access_pattern";
        writeText(pattern / "sz/min", "0");
        writeText(pattern / "sz/max", std::to_string(~std::uint64_t{0}));
        writeText(pattern / "nr_accesses/min", "1");
        writeText(pattern / "nr_accesses/max", std::to_string(~std::uint32_t{0}));
        writeText(pattern / "age/min", "0");
        writeText(pattern / "age/max", std::to_string(~std::uint32_t{0}));
        // Filters out every region that is not target t's ("matching: N").
        writeDamonFile(scheme / "filters/nr_filters", "1", stop);
        writeText(scheme / "filters/0/type", "target");
        writeText(scheme / "filters/0/matching", "N");
        writeText(scheme / "filters/0/damon_target_idx", std::to_string(t));
    }

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

// One target's view of its cycle's monitor, plus soft-dirty for writes.
class DamonSession final : public ScanSession {
  public:
    DamonSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths,
                 std::shared_ptr<DamonMonitor> monitor)
        : vmas_(vmas.begin(), vmas.end()),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          present_(pagemap_.get(), pagemapScanAvailable()),
          monitor_(std::move(monitor)),
          index_(monitor_->add(target, vmas)) {
        clearSoftDirty(clearRefs_.get());  // written pages count from now on
    }

    void round(std::stop_token stop, AccessSink& sink) override {
        monitor_->start(stop);  // the engine started it already, unless it never calls begin
        std::map<std::uint64_t, std::uint64_t> accessed = monitor_->awaitWindow(index_, stop);
        if (stop.stop_requested()) return;
        for (const auto& [start, end] : accessed)
            sink.record(start, (end - start) / kPageSize, PageAccess::Read);
        // Written pages, per page, from soft-dirty (pagemap read where pages are present).
        for (const auto& vma : vmas_) {
            bool complete = present_.read(
                vma.range, isDense(vma), stop,
                [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                    for (std::size_t i = 0; i < entries.size(); ++i)
                        if (entries[i].present() && entries[i].softDirty())
                            sink.record(address + i * kPageSize, 1, PageAccess::Written);
                });
            if (!complete) return;
        }
        clearSoftDirty(clearRefs_.get());
    }

  private:
    std::vector<Vma> vmas_;
    UniqueFd pagemap_;
    UniqueFd clearRefs_;
    PresentPagemap present_;
    std::shared_ptr<DamonMonitor> monitor_;
    std::size_t index_;
};

class DamonScanner final : public AccessScanner {
  public:
    DamonScanner(KernelPaths paths, DamonTuning tuning)
        : paths_(std::move(paths)), tuning_(std::move(tuning)) {}
    std::string_view name() const override { return "damon"; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token) override {
        // Crash recovery on first use, not when the scanner is made: making (naming) a
        // backend must not change anything.
        std::call_once(recovered_, [this] {
            try {
                releaseStaleKdamonds(paths_);
            } catch (const std::exception&) {
                // Best effort; the next claim turns a stale kdamond off anyway.
            }
        });
        try {
            return std::make_unique<DamonSession>(target, vmas, paths_, gatheringMonitor());
        } catch (const std::system_error& e) {
            if (!target.alive()) throw TargetGone("the process exited");
            throw BackendUnavailable(fmt::format("DAMON could not be set up: {}", e.what()));
        }
    }
    // Every target of the cycle is watched: their monitors go on together.
    void beginWatching(std::stop_token stop) override {
        std::vector<std::shared_ptr<DamonMonitor>> monitors;
        {
            std::lock_guard lock(mutex_);
            for (const auto& gathering : gathering_)
                if (auto monitor = gathering.lock()) monitors.push_back(std::move(monitor));
            gathering_.clear();
        }
        for (const auto& monitor : monitors) monitor->start(stop);
    }

  private:
    // The monitor the targets watched now join (a new one once it is full).
    std::shared_ptr<DamonMonitor> gatheringMonitor() {
        std::lock_guard lock(mutex_);
        std::erase_if(gathering_, [](const auto& gathering) { return gathering.expired(); });
        std::shared_ptr<DamonMonitor> monitor =
            gathering_.empty() ? nullptr : gathering_.back().lock();
        if (!monitor || monitor->closed()) {
            monitor = std::make_shared<DamonMonitor>(paths_, tuning_);
            gathering_.push_back(monitor);
        }
        return monitor;
    }

    KernelPaths paths_;
    std::once_flag recovered_;
    DamonTuning tuning_;
    std::mutex mutex_;
    std::vector<std::weak_ptr<DamonMonitor>> gathering_;  // guarded by mutex_
};

}  // namespace

DamonTuning damonTuningOf(const ProjectConfig& project) {
    return DamonTuning{std::uint64_t{project.interval} * 1'000'000, project.region};
}

DamonAttrs deriveDamonAttrs(const DamonTuning& tuning, std::span<const Vma> vmas) {
    const RegionScanConfig& given = tuning.region;
    DamonAttrs attrs;
    // A window is half the interval (every window is read, so the interval is seen whole),
    // at least 100 ms and at most 400 ms. A stop waits for the tried-regions request in
    // flight, which holds DAMON's sysfs lock (and so every kdamond's "off") until its window
    // closes: with windows of 1 s etmemd took 2.2 s to stop mid-interval; 400 ms keeps it
    // under half a second, for more window reads on long intervals.
    attrs.aggrUs = given.aggrIntervalUs != 0
                       ? given.aggrIntervalUs
                       : std::clamp<std::uint64_t>(tuning.intervalUs / 2, 100'000, 400'000);
    attrs.aggrUs = std::min(attrs.aggrUs, std::max<std::uint64_t>(tuning.intervalUs, 1000));
    // 20 samples a window: DAMON merges neighbours whose counts differ by less than a tenth
    // of the samples, so fewer would blur hot and cold.
    attrs.sampleUs = given.sampleIntervalUs != 0 ? given.sampleIntervalUs
                                                 : std::max<std::uint64_t>(attrs.aggrUs / 20, 1000);
    attrs.sampleUs = std::min(attrs.sampleUs, attrs.aggrUs);
    // The session lasts one cycle and starts from the candidates (see writeInitialRegions):
    // no need for the kernel to re-read the address space meanwhile.
    attrs.updateUs = given.updateIntervalUs != 0 ? given.updateIntervalUs : kMaxUpdateIntervalUs;
    // Regions small enough to split down to where hot and cold meet. The session gives DAMON
    // min_nr_regions equal pieces of the candidates and DAMON never merges above that size,
    // so min sets the coarsest grain from the first window on: one region per 64 KiB of
    // what the target has resident; max, twice that, lets them split further (DAMON splits
    // only below max / 2). Bounded so the per-window read stays cheap.
    std::uint64_t bytes = 0;
    for (const auto& vma : vmas) bytes += vma.range.end - vma.range.start;
    attrs.minNrRegions = given.minNrRegions != 0
                             ? given.minNrRegions
                             : std::clamp<std::uint64_t>(bytes / (64 * 1024), 10, 10000);
    attrs.maxNrRegions = given.maxNrRegions != 0
                             ? given.maxNrRegions
                             : std::clamp<std::uint64_t>(bytes / (32 * 1024), 1000, 20000);
    attrs.maxNrRegions = std::max(attrs.maxNrRegions, attrs.minNrRegions);
    return attrs;
}

}  // namespace etmem::scanners::damon

namespace etmem::slide {

namespace fs = std::filesystem;

// access() and reads only: probing must not touch DAMON.
std::string probeDamonScanner(const KernelPaths& paths) {
    auto nrKdamonds = paths.sys / "kernel/mm/damon/admin/kdamonds/nr_kdamonds";
    if (::access(nrKdamonds.c_str(), W_OK) != 0)
        return fs::exists(nrKdamonds)
                   ? "no permission on the DAMON sysfs interface: run etmemd as root to use the "
                     "damon scanner"
                   : "the kernel has no DAMON sysfs interface (CONFIG_DAMON_SYSFS, "
                     "CONFIG_DAMON_VADDR): the damon scanner is not available";
    // Usable only where etmem may claim a kdamond: nobody has any (etmem may create its
    // pool), or etmem created some earlier. Another tool's kdamonds are never taken over.
    if (readFirstLine(nrKdamonds) == "0" || fs::exists(paths.run / "damon/kdamond-0.lock"))
        return "";
    return "DAMON is in use by another tool (its kdamonds exist and none is etmem's): the damon "
           "scanner is not available until they are removed";
}

std::unique_ptr<AccessScanner> makeDamonScanner(const BackendSettings& settings) {
    return std::make_unique<scanners::damon::DamonScanner>(
        settings.paths, scanners::damon::damonTuningOf(settings.project));
}

}  // namespace etmem::slide
