// DAMON with the vaddr operations, through /sys/kernel/mm/damon/admin.
//
// Each watched target gets a kdamond of its own (a context has several targets, but the
// regions a scheme reports do not say which target they belong to). etmem never disturbs
// another user's kdamonds: writing nr_kdamonds recreates all of them, so etmem writes it only
// when it is 0 (nobody has any), creating a pool of kDamonPoolSize for itself, and records each as
// its own with a lock file <run>/damon/kdamond-<i>.lock. A kdamond is in use while its lock
// file is flock()ed; the lock ends with the process, so after a crash the kdamond is free
// again and the next claim turns it off and reuses it.
//
// Every aggregation window is read: a collector thread asks `update_schemes_tried_regions`
// of a `stat` scheme that matches every region (the write returns when the window in flight
// closes) and adds each region with nr_accesses > 0 to the union of accessed ranges. A round
// waits for the window in flight, then reports that union as read, so an access anywhere in
// the interval counts (region granularity; the regions split down towards where hot and
// cold meet, bounded by max_nr_regions, one per 64 KiB resident by default). Pagemap's
// soft-dirty bit supplies the written signal per page, and clear_refs 4 re-arms it (and
// flushes the target's TLB).
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
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "etmem/slide/backends.hpp"
#include "etmem/slide/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {
namespace {

namespace fs = std::filesystem;

void writeText(const fs::path& path, std::string_view text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("writing '{}' to {}", text, path.string()));
}

std::string readText(const fs::path& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

std::uint64_t readNumber(const fs::path& path) {
    std::string text = readText(path);
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

UniqueFd lockFile(const fs::path& path, bool create, bool wait) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (!fd) return fd;
    if (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) return UniqueFd();
    return fd;
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
        auto state = kdamonds / std::to_string(i) / "state";
        if (readText(state) == "on") {
            writeText(state, "off");
            ++released;
        }
    }
    return released;
}

namespace {

using Clock = std::chrono::steady_clock;

// Reads a small sysfs number with one read(2) (an ifstream per file is costly at thousands of
// regions per window). 0 when unreadable.
std::uint64_t readSysfsNumber(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    char text[32];
    ssize_t got = ::read(fd.get(), text, sizeof text);
    std::uint64_t value = 0;
    if (got > 0) std::from_chars(text, text + got, value);
    return value;
}

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

class DamonSession final : public ScanSession {
  public:
    DamonSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths,
                 const DamonAttrs& attrs)
        : vmas_(vmas.begin(), vmas.end()),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          present_(pagemap_.get(), pagemapScanAvailable()),
          kdamond_(claimKdamond(paths)),
          attrs_(attrs) {
        // A crashed daemon may have left it running.
        if (readText(kdamond_.dir / "state") == "on") writeText(kdamond_.dir / "state", "off");
        configure(target.pid);
        writeText(kdamond_.dir / "state", "on");
        clearSoftDirty(clearRefs_.get());
        collector_ = std::jthread([this](std::stop_token stop) { collect(stop); });
    }

    ~DamonSession() override {
        collector_.request_stop();
        turnOff();
        {
            std::lock_guard lock(mutex_);
            changed_.notify_all();
        }
        if (collector_.joinable()) collector_.join();
        turnOff();  // in case the first attempt raced with the collector's last request
    }

    void round(std::stop_token stop, AccessSink& sink) override {
        // The window in flight now holds the end of this interval: wait for it, so an access
        // anywhere in the interval counts (bounded: a window lasts aggr_us).
        std::map<std::uint64_t, std::uint64_t> accessed;
        {
            std::unique_lock lock(mutex_);
            std::uint64_t target = windows_ + 1;
            auto deadline = Clock::now() + std::chrono::microseconds(2 * attrs_.aggrUs) +
                            std::chrono::seconds(2);
            changed_.wait_until(lock, stop, deadline,
                                [&] { return windows_ >= target || gone_ || failed_; });
            if (stop.stop_requested()) return;
            if (gone_) throw TargetGone("the process exited");
            if (failed_) throw BackendUnavailable(failure_);
            accessed = accessed_.take();
        }
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
    // Writes "off", retrying while the kernel answers EBUSY (its sysfs lock is taken while a
    // collector's request is handled), for at most a second; a kdamond left on would keep
    // sampling the target after the cycle. Turning it off also ends a collector's wait for
    // the window in flight.
    void turnOff() {
        auto state = kdamond_.dir / "state";
        auto deadline = Clock::now() + std::chrono::seconds(1);
        for (;;) {
            try {
                if (readText(state) != "on") return;
                writeText(state, "off");
                return;
            } catch (const std::system_error& e) {
                if (e.code().value() != EBUSY || Clock::now() >= deadline) return;
            } catch (const std::exception&) {
                return;  // it stops by itself once its target is gone
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // Every aggregation window, once it closes: its accessed regions join accessed_. The
    // write returns once the kdamond has applied the scheme at the end of the window in
    // flight; reading takes far less than a window, so no window is missed.
    void collect(std::stop_token stop) {
        auto scheme = kdamond_.dir / "contexts/0/schemes/0";
        while (!stop.stop_requested()) {
            try {
                writeText(kdamond_.dir / "state", "update_schemes_tried_regions");
            } catch (const std::system_error& e) {
                // DAMON's sysfs handles one such request at a time for all kdamonds: with
                // several targets another collector's request may be pending. Ask again.
                if (e.code().value() == EBUSY && readText(kdamond_.dir / "state") == "on") {
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                    continue;
                }
                std::lock_guard lock(mutex_);
                // The kdamond ends when its target exits.
                if (readText(kdamond_.dir / "state") != "on")
                    gone_ = true;
                else
                    failed_ = true, failure_ = fmt::format("DAMON: {}", e.what());
                changed_.notify_all();
                return;
            }
            if (stop.stop_requested()) return;
            std::vector<std::pair<std::uint64_t, std::uint64_t>> window;
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(scheme / "tried_regions", ec)) {
                if (!entry.is_directory(ec)) continue;
                if (readSysfsNumber(entry.path() / "nr_accesses") == 0) continue;
                std::uint64_t start = readSysfsNumber(entry.path() / "start");
                std::uint64_t end = readSysfsNumber(entry.path() / "end");
                if (end > start) window.emplace_back(start, end);
            }
            std::lock_guard lock(mutex_);
            for (const auto& [start, end] : window) accessed_.add(start, end);
            ++windows_;
            changed_.notify_all();
        }
    }

    // The candidates, cut into pieces of (candidate bytes / min_nr_regions), as the target's
    // initial regions: DAMON's vaddr honours regions given at start (it would otherwise
    // spread min_nr_regions over the whole span between the two largest gaps, libraries and
    // holes included), and never merges above that size, so the grain holds from the first
    // window on. update_us is long by default, so the kernel does not swap them for its
    // three-region view during the cycle.
    void writeInitialRegions(const fs::path& regions) {
        std::uint64_t bytes = 0;
        for (const auto& vma : vmas_) bytes += vma.range.end - vma.range.start;
        std::uint64_t grain = std::max<std::uint64_t>(
            kPageSize,
            (bytes / std::max<std::uint64_t>(attrs_.minNrRegions, 1)) / kPageSize * kPageSize);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> pieces;
        for (const auto& vma : vmas_)
            for (std::uint64_t at = vma.range.start; at < vma.range.end; at += grain)
                pieces.emplace_back(at, std::min(at + grain, vma.range.end));
        if (pieces.empty()) return;
        writeText(regions / "nr_regions", std::to_string(pieces.size()));
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            writeText(regions / std::to_string(i) / "start", std::to_string(pieces[i].first));
            writeText(regions / std::to_string(i) / "end", std::to_string(pieces[i].second));
        }
    }

    void configure(pid_t pid) {
        auto context = kdamond_.dir / "contexts/0";
        writeText(kdamond_.dir / "contexts/nr_contexts", "1");
        writeText(context / "operations", "vaddr");
        auto attrs = context / "monitoring_attrs";
        writeText(attrs / "intervals/sample_us", std::to_string(attrs_.sampleUs));
        writeText(attrs / "intervals/aggr_us", std::to_string(attrs_.aggrUs));
        writeText(attrs / "intervals/update_us", std::to_string(attrs_.updateUs));
        // max first: the kernel refuses min > max at commit, not at write, but keep the
        // order that is valid at every step.
        writeText(attrs / "nr_regions/max", std::to_string(attrs_.maxNrRegions));
        writeText(attrs / "nr_regions/min", std::to_string(attrs_.minNrRegions));
        writeText(context / "targets/nr_targets", "1");
        writeText(context / "targets/0/pid_target", std::to_string(pid));
        writeInitialRegions(context / "targets/0/regions");
        writeText(context / "schemes/nr_schemes", "1");
        auto scheme = context / "schemes/0";
        writeText(scheme / "action", "stat");
        // Match every accessed region (nr_accesses >= 1): only those are read, and the kernel
        // builds a sysfs directory per tried region each window, so leaving the idle ones out
        // keeps the cost with what is hot.
        auto pattern = scheme / "access_pattern";
        writeText(pattern / "sz/min", "0");
        writeText(pattern / "sz/max", std::to_string(~std::uint64_t{0}));
        writeText(pattern / "nr_accesses/min", "1");
        writeText(pattern / "nr_accesses/max", std::to_string(~std::uint32_t{0}));
        writeText(pattern / "age/min", "0");
        writeText(pattern / "age/max", std::to_string(~std::uint32_t{0}));
    }

    std::vector<Vma> vmas_;
    UniqueFd pagemap_;
    UniqueFd clearRefs_;
    PresentPagemap present_;
    KdamondClaim kdamond_;
    DamonAttrs attrs_;

    std::mutex mutex_;
    std::condition_variable_any changed_;
    AccessedRanges accessed_;    // guarded by mutex_
    std::uint64_t windows_ = 0;  // windows read so far; guarded by mutex_
    bool gone_ = false;          // guarded by mutex_
    bool failed_ = false;        // guarded by mutex_
    std::string failure_;        // guarded by mutex_
    std::jthread collector_;     // last: it uses everything above
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
            return std::make_unique<DamonSession>(target, vmas, paths_,
                                                  deriveDamonAttrs(tuning_, vmas));
        } catch (const std::system_error& e) {
            if (!target.alive()) throw TargetGone("the process exited");
            throw BackendUnavailable(fmt::format("DAMON could not be set up: {}", e.what()));
        }
    }

  private:
    KernelPaths paths_;
    std::once_flag recovered_;
    DamonTuning tuning_;
};

}  // namespace

DamonTuning damonTuningOf(const ProjectConfig& project) {
    return DamonTuning{std::uint64_t{project.interval} * 1'000'000, project.region};
}

DamonAttrs deriveDamonAttrs(const DamonTuning& tuning, std::span<const Vma> vmas) {
    const RegionScanConfig& given = tuning.region;
    DamonAttrs attrs;
    // A window is a quarter of the interval (every window is read, so the interval is seen
    // whole), at least 100 ms and at most 1 s, so a round waits at most that long for the
    // window in flight and a stop is never held up for long.
    attrs.aggrUs = given.aggrIntervalUs != 0
                       ? given.aggrIntervalUs
                       : std::clamp<std::uint64_t>(tuning.intervalUs / 2, 100'000, 1'000'000);
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

std::unique_ptr<AccessScanner> makeDamonScanner(const KernelPaths& paths,
                                                const DamonTuning& tuning) {
    return std::make_unique<DamonScanner>(paths, tuning);
}

}  // namespace etmem::slide
