// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi: per target cgroup, a PsiController round after every `interval` (each scan of
// the cycle), which reads memory.pressure / memory.current / memory.max and writes
// memory.reclaim.
//
// Targets: type cgroup names the cgroup (with a last component "*": every child of it, as
// etmem 1.1's cg_dir=parent/*); types unit, pid and name act on the cgroups their processes
// are in. A controller keeps its state per cgroup across cycles.
//
// Stopping: the kernel reclaims inside the write to memory.reclaim, and a write cannot be
// interrupted but by a signal. So a round asks in chunks of kReclaimChunkBytes (8 MiB,
// a few milliseconds of reclaim to zram) and checks for stop between chunks: a stop waits
// for at most one chunk. A round's writes also end after half the interval, so a slow
// device cannot make rounds pile up.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "engines/psi/psi.hpp"
#include "etmem/kernel/cgroup_memory.hpp"
#include "etmem/psi/psi_controller.hpp"
#include "etmem/psi/psi_engine.hpp"

namespace etmem::psi {
namespace {

using Clock = std::chrono::steady_clock;

class PsiEngine final : public TaskEngine {
  public:
    PsiEngine(const EngineContext& context, PsiEngineOptions options)
        : task_(context.task),
          interval_(std::chrono::seconds(context.project.interval)),
          log_(context.log),
          logger_(context.logger),
          paths_(std::move(options.paths)),
          now_(options.now ? std::move(options.now) : [] { return Clock::now(); }),
          chunkBytes_(options.chunkBytes) {}

    void beginCycle(std::span<const Target> targets, std::stop_token) override {
        report_ = CycleReport{};
        rounds_ = reclaimed_ = backOffs_ = 0;
        pressure_ = 0;
        cgroups_ = targetCgroups(targets);
        if (const std::string problem = kernel::cgroupReclaimProblem(paths_); !problem.empty())
            report_.error = problem;
    }

    void scan(std::stop_token stop) override {
        if (!report_.error.empty()) return;
        for (const std::string& cgroup : cgroups_) {
            if (stop.stop_requested()) return;
            round(cgroup, stop);
        }
        ++rounds_;
    }

    CycleReport act(std::stop_token) override {
        CycleReport report = std::move(report_);
        report_ = CycleReport{};
        report.extra.setCount("bytes_reclaimed", reclaimed_, true);
        report.extra.setCount("reclaim_backoffs", backOffs_, true);
        report.extra.set(Figure{"pressure", pressure_, Combine::Max});
        report.extra.set(Figure{"reclaim_rate", rate_, Combine::Max});
        report.extra.setCount("cgroups", cgroups_.size());
        return report;
    }

  private:
    struct CgroupState {
        PsiController controller;
        Clock::time_point readAt{};
        RoundKind last = RoundKind::Baseline;
    };

    std::vector<std::string> targetCgroups(std::span<const Target> targets) const {
        const auto root = kernel::cgroupRoot(paths_);
        if (task_.type == TaskType::Cgroup) return kernel::expandCgroupPattern(root, task_.value);
        std::set<std::string> found;
        for (const Target& target : targets) {
            if (!target.cgroup.empty()) {
                found.insert(target.cgroup);
            } else if (auto cgroup = kernel::cgroupOfPid(paths_, target.pid)) {
                found.insert(std::move(*cgroup));
            }
        }
        return {found.begin(), found.end()};
    }

    void round(const std::string& cgroup, std::stop_token stop) {
        const auto directory = kernel::cgroupRoot(paths_) / cgroup;
        const auto stall = kernel::readMemoryPressure(directory);
        const auto current = kernel::readMemoryCurrent(directory);
        if (!stall || !current) {
            if (!current) return;  // gone since the cycle began
            report_.error = fmt::format(
                "cgroup {} has no readable memory.pressure (a kernel without PSI: boot with "
                "psi=1)",
                cgroup);
            return;
        }
        auto [at, fresh] =
            states_.try_emplace(cgroup, CgroupState{PsiController(task_.psi), {}, {}});
        CgroupState& state = at->second;
        const Clock::time_point now = now_();
        const auto elapsed =
            fresh ? 0
                  : static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::microseconds>(now - state.readAt)
                            .count());
        state.readAt = now;
        const RoundDecision decision = state.controller.decide(
            {*current, kernel::readMemoryMax(directory), stall->someTotalUs, stall->someAvg10},
            elapsed);
        pressure_ = std::max(pressure_, decision.pressure);
        rate_ = decision.rate;
        if (decision.kind == RoundKind::BackOff) {
            ++backOffs_;
            logger_.log(LogLevel::Info, log_,
                        fmt::format("cgroup {}: backing off: {}", cgroup, decision.why));
        } else if (state.last == RoundKind::Hold && decision.kind == RoundKind::Reclaim) {
            logger_.log(LogLevel::Info, log_,
                        fmt::format("cgroup {}: pressure {:.3f}% is under the goal {}% again; "
                                    "reclaiming at rate {:.3f}",
                                    cgroup, decision.pressure, task_.psi.pressure, decision.rate));
        }
        state.last = decision.kind;
        if (decision.reclaimBytes == 0) return;
        const std::uint64_t got = reclaim(directory, decision.reclaimBytes, now, stop);
        state.controller.reclaimed(got);
        reclaimed_ += got;
        logger_.log(LogLevel::Debug, log_,
                    fmt::format("cgroup {}: pressure {:.3f}%, reclaimed {} of {} bytes at rate "
                                "{:.3f} (floor {} bytes)",
                                cgroup, decision.pressure, got, decision.reclaimBytes,
                                decision.rate, decision.floor));
    }

    // Asks memory.reclaim for `bytes` in chunks; returns what the kernel confirmed.
    std::uint64_t reclaim(const std::filesystem::path& directory, std::uint64_t bytes,
                          Clock::time_point start, std::stop_token stop) {
        const Clock::time_point deadline = start + interval_ / 2;
        std::uint64_t done = 0;
        while (done < bytes && !stop.stop_requested() && now_() < deadline) {
            const std::uint64_t chunk = std::min(chunkBytes_, bytes - done);
            try {
                if (kernel::writeMemoryReclaim(directory, chunk) == kernel::ReclaimOutcome::Short)
                    break;
            } catch (const std::system_error& e) {
                report_.error = e.what();
                break;
            }
            done += chunk;
        }
        return done;
    }

    const TaskConfig task_;
    const Clock::duration interval_;
    LogContext log_;
    Logger& logger_;
    kernel::KernelPaths paths_;
    std::function<Clock::time_point()> now_;
    std::uint64_t chunkBytes_;
    std::vector<std::string> cgroups_;
    std::map<std::string, CgroupState> states_;
    CycleReport report_;
    std::uint64_t rounds_ = 0, reclaimed_ = 0, backOffs_ = 0;
    double pressure_ = 0, rate_ = 0;
};

}  // namespace

std::unique_ptr<TaskEngine> makePsiEngine(const EngineContext& context, PsiEngineOptions options) {
    return std::make_unique<PsiEngine>(context, std::move(options));
}

double composedPressureLimit(const ProjectConfig& project, const TaskConfig& slideTask) {
    if (slideTask.slide.pressureLimit != 0) return slideTask.slide.pressureLimit;
    for (const TaskConfig& other : project.tasks) {
        if (other.engine == "psi" && other.type == slideTask.type && other.value == slideTask.value)
            return std::clamp(other.psi.pressure, slide::kMinPressureLimit,
                              slide::kMaxPressureLimit);
    }
    return 0;
}

std::unique_ptr<TaskEngine> makePsiTaskEngine(const EngineContext& context, const EngineHost&) {
    return makePsiEngine(context, {});
}

}  // namespace etmem::psi
