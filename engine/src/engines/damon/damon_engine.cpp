// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon: etmem 1.1's damon engine, a DAMOS scheme that acts in the kernel.
//
// A task holds one kdamond of etmem's pool for as long as it runs: a vaddr context with a
// target per process of the task and one scheme (the task's action on the regions that
// match its access pattern). The kernel monitors and acts between cycles on its own; a cycle
// only starts the kdamond again when the task's processes changed, pauses or resumes the
// scheme as memory pressure crosses pressure_limit (the action becomes "stat", committed
// online so DAMON keeps what it learned of the regions), and reads the scheme's stats.
// Pacing as slide's: max_swap_rate is the scheme's quota (bytes a second), sysmem_threshold
// its free-memory watermarks.
#include <fcntl.h>

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "engines/damon/damon.hpp"
#include "etmem/kernel/files.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/scanners/damon.hpp"
#include "etmem/slide/gates.hpp"
#include "etmem/slide/pacing.hpp"
#include "etmem/unique_fd.hpp"
#include "scanners/damon/damon_sysfs.hpp"
#include "scanners/damon/damos_scheme.hpp"

namespace etmem::damon {
namespace {

namespace sd = scanners::damon;
using kernel::KernelPaths;
using kernel::kPageSize;

// What DAMON re-reads of the address space, when update_interval is not given: a second,
// DAMON's own default, so mappings the processes make while the task runs are monitored.
constexpr std::uint64_t kDefaultUpdateUs = 1'000'000;

sd::DamosScheme schemeOf(const ProjectConfig& project, const TaskConfig& task) {
    const DamonSettings& given = task.damon;
    sd::DamosScheme scheme;
    scheme.action = given.action;
    scheme.pattern = {given.minSize,
                      given.maxSize,
                      static_cast<std::uint32_t>(given.minAccesses),
                      static_cast<std::uint32_t>(given.maxAccesses),
                      static_cast<std::uint32_t>(given.minAge),
                      static_cast<std::uint32_t>(given.maxAge)};
    // max_swap_rate: at most that many bytes tried a second.
    scheme.quota = {task.slide.maxSwapRate, 1000};
    // sysmem_threshold: act only while free memory is below that share of RAM.
    if (project.sysmemThreshold) {
        const std::uint64_t perThousand = std::uint64_t{*project.sysmemThreshold} * 10;
        scheme.watermarks = {"free_mem_rate", 1'000'000, perThousand, perThousand, 0};
    }
    return scheme;
}

sd::DamonAttrs attrsOf(const ProjectConfig& project) {
    sd::DamonAttrs attrs = sd::deriveDamonAttrs(sd::damonTuningOf(project), {});
    if (project.region.updateIntervalUs == 0)
        attrs.updateUs = std::max(kDefaultUpdateUs, attrs.aggrUs);
    return attrs;
}

// A process's VmSwap in bytes; 0 when it has none or is gone.
std::uint64_t swappedBytesOf(const KernelPaths& paths, pid_t pid) {
    UniqueFd fd(
        ::open((paths.proc / std::to_string(pid) / "status").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    const auto memory = slide::parseProcessStatus(kernel::readWholeFile(fd.get()));
    return memory ? memory->swapKb * 1024 : 0;
}

void addStats(FigureList& figures, const sd::DamosStats& stats) {
    figures.setCount("damos_nr_tried", stats.nrTried, true);
    figures.setCount("damos_sz_tried", stats.szTried, true);
    figures.setCount("damos_nr_applied", stats.nrApplied, true);
    figures.setCount("damos_sz_applied", stats.szApplied, true);
    figures.setCount("damos_qt_exceeds", stats.qtExceeds, true);
}

class DamonEngine final : public TaskEngine {
  public:
    DamonEngine(const EngineContext& context, KernelPaths paths)
        : project_(context.project),
          task_(context.task),
          log_(context.log),
          logger_(context.logger),
          paths_(std::move(paths)),
          scheme_(schemeOf(project_, task_)),
          attrs_(attrsOf(project_)) {}

    ~DamonEngine() override { stopKdamond(); }

    void beginCycle(std::span<const Target> targets, std::stop_token stop) override {
        std::vector<pid_t> pids;
        for (const Target& target : targets)
            if (target.alive()) pids.push_back(target.pid);
        std::sort(pids.begin(), pids.end());
        cgroup_ = targets.empty() ? std::string() : targets.front().cgroup;
        if (pids.empty()) {
            stopKdamond();
            return;
        }
        readPressure();
        if (!claim_) claim_ = sd::claimKdamond(paths_);
        if (running_ && pids == pids_ && sd::readDamonState(claim_->dir, stop) == "on") {
            applyScheme(stop);
            return;
        }
        startKdamond(pids, stop);
    }

    void scan(std::stop_token stop) override {
        if (!running_) return;
        readPressure();
        applyScheme(stop);
    }

    CycleReport act(std::stop_token stop) override {
        CycleReport report;
        report.scanner = "damon";
        report.swapper = "damos " + scheme_.action;
        if (running_ && sd::readDamonState(claim_->dir, stop) != "on") {
            // DAMON stops a kdamond whose targets all exited; the next cycle starts it again.
            running_ = false;
        }
        sd::DamosStats cycle;
        if (running_) {
            const sd::DamosStats now = sd::readDamosStats(claim_->dir, stop);
            cycle = now.since(baseline_);
            baseline_ = now;
        }
        if (scheme_.action == "pageout") {
            // What left: sz_applied counts the regions' whole spans, resident or not.
            report.bytesSwapped = swapGrowth();
            report.pagesSwapped = report.bytesSwapped / kPageSize;
        }
        addStats(report.extra, cycle);
        report.pacing = pacingOf(cycle);
        return report;
    }

  private:
    // The scheme as it should run now: paused (acting as "stat") at or above pressure_limit.
    sd::DamosScheme wanted() const {
        sd::DamosScheme scheme = scheme_;
        if (paused_) scheme.action = "stat";
        return scheme;
    }

    // How much the processes' VmSwap grew since the last reading (per process, never
    // negative: pages swapped back in are not the scheme's to count).
    std::uint64_t swapGrowth() {
        std::uint64_t grown = 0;
        for (const pid_t pid : pids_) {
            const std::uint64_t now = swappedBytesOf(paths_, pid);
            std::uint64_t& seen = swapSeen_[pid];
            grown += now > seen ? now - seen : 0;
            seen = now;
        }
        return grown;
    }

    void readPressure() {
        const double limit = task_.slide.pressureLimit;
        if (limit == 0) return;
        pressure_ = slide::readPressure(
            slide::pressureFileFor(cgroup_, paths_.sys / "fs" / "cgroup", paths_.proc));
        const bool paused = pressure_ && *pressure_ >= limit;
        if (paused != paused_) {
            logger_.log(LogLevel::Info, log_,
                        paused ? fmt::format("memory pressure {:.1f}% is at or above "
                                             "pressure_limit {}%: the scheme pauses",
                                             *pressure_, limit)
                               : fmt::format("memory pressure is below pressure_limit {}%: the "
                                             "scheme acts again",
                                             limit));
        }
        paused_ = paused;
    }

    void applyScheme(std::stop_token stop) {
        const sd::DamosScheme scheme = wanted();
        if (scheme == written_) return;
        sd::writeDamosScheme(claim_->dir / "contexts/0/schemes/0", scheme, stop);
        sd::commitDamos(claim_->dir, stop);
        written_ = scheme;
    }

    void startKdamond(const std::vector<pid_t>& pids, std::stop_token stop) {
        stopKdamond();
        written_ = wanted();
        sd::writeDamosSession(claim_->dir, attrs_, pids, written_, stop);
        sd::writeDamonFile(claim_->dir / "state", "on", stop);
        running_ = true;
        pids_ = pids;
        baseline_ = {};  // a new kdamond counts from zero
        swapSeen_.clear();
        for (const pid_t pid : pids) swapSeen_[pid] = swappedBytesOf(paths_, pid);
        logger_.log(LogLevel::Debug, log_,
                    fmt::format("kdamond {} runs scheme {} on {} processes",
                                claim_->dir.filename().string(), scheme_.action, pids.size()));
    }

    void stopKdamond() noexcept {
        if (!claim_ || !running_) return;
        running_ = false;
        try {
            if (sd::readDamonState(claim_->dir) == "on")
                sd::writeDamonFile(claim_->dir / "state", "off", {});
        } catch (const std::exception& e) {
            logger_.log(LogLevel::Warning, log_,
                        fmt::format("cannot turn kdamond {} off: {}",
                                    claim_->dir.filename().string(), e.what()));
        }
    }

    CycleReport::Pacing pacingOf(const sd::DamosStats& cycle) const {
        CycleReport::Pacing pacing;
        pacing.paused = paused_;
        pacing.rate = task_.slide.maxSwapRate;
        pacing.pressure = pressure_.value_or(-1);
        if (paused_) {
            pacing.paced = true;
            pacing.reason = fmt::format("memory pressure {:.1f}% at or above pressure_limit {}%",
                                        pressure_.value_or(0), task_.slide.pressureLimit);
        } else if (cycle.qtExceeds > 0) {
            pacing.paced = true;
            pacing.reason = fmt::format("max_swap_rate {} bytes/s held the scheme back {} times",
                                        task_.slide.maxSwapRate, cycle.qtExceeds);
        }
        return pacing;
    }

    const ProjectConfig& project_;
    const TaskConfig& task_;
    LogContext log_;
    Logger& logger_;
    KernelPaths paths_;
    const sd::DamosScheme scheme_;
    const sd::DamonAttrs attrs_;
    std::optional<sd::KdamondClaim> claim_;
    bool running_ = false;
    std::vector<pid_t> pids_;
    sd::DamosScheme written_;
    sd::DamosStats baseline_;
    std::map<pid_t, std::uint64_t> swapSeen_;  // each process's VmSwap at the last reading
    std::string cgroup_;
    std::optional<double> pressure_;
    bool paused_ = false;
};

}  // namespace

std::unique_ptr<TaskEngine> makeDamonEngine(const EngineContext& context, KernelPaths paths) {
    return std::make_unique<DamonEngine>(context, std::move(paths));
}

std::unique_ptr<TaskEngine> makeDamonTaskEngine(const EngineContext& context, const EngineHost&) {
    return makeDamonEngine(context, KernelPaths{});
}

}  // namespace etmem::damon
