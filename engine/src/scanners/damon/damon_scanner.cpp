// SPDX-License-Identifier: MulanPSL-2.0
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
//
// The pieces, a file each: kdamond_pool (etmem's kdamonds and the claims on them),
// kdamond_config (what a kdamond is told), window_collector (reading every window),
// damon_monitor (one kdamond's targets and each one's share of the windows), damon_attrs
// (the monitoring attributes), damon_sysfs (DAMON's files that answer EBUSY); this file
// holds the sessions, the scanner and its row's probe and factory.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/files.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/scanners/damon.hpp"
#include "etmem/unique_fd.hpp"
#include "scanners/damon/damon_monitor.hpp"

namespace etmem::scanners::damon {

using namespace etmem::backends;
using namespace etmem::kernel;

namespace {

namespace fs = std::filesystem;

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

}  // namespace etmem::scanners::damon

namespace etmem::backends {

using namespace etmem::kernel;

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

}  // namespace etmem::backends
