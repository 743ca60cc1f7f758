// SPDX-License-Identifier: MulanPSL-2.0
// The slide engine wires its stages together over a cycle: backend choice (made once),
// counting (beginCycle and scan), cold streaks and eviction (act), on a worker pool made
// once per cycle. Each stage is a file of its own and says how it stops.
#include "etmem/slide/slide_engine.hpp"

#include <fcntl.h>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "slide/backend_choice.hpp"
#include "slide/cold_streaks.hpp"
#include "slide/counting.hpp"
#include "slide/cycle_errors.hpp"
#include "slide/cycle_pacing.hpp"
#include "slide/cycle_target.hpp"
#include "slide/eviction.hpp"
#include "slide/tiering.hpp"
#include "slide/worker_pool.hpp"

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

class SlideEngine final : public TaskEngine {
  public:
    SlideEngine(const EngineContext& context, SlideOptions options)
        : loop_(context.project.loop),
          maxThreads_(std::max(1u, context.task.maxThreads)),
          log_(context.log),
          logger_(context.logger),
          paths_(options.paths),
          backends_(chooseBackends(options, context.project)),
          streaks_(context.task.slide.coldCycles,
                   context.task.slide.coldCycles + context.task.slide.thenSwapAfter),
          pacing_(context.project, context.task, options.paths),
          tiering_(makeTiering(context, options)),
          eviction_(
              {loop_, context.task.slide.T, backends_.pagemapScan, std::move(options.selectCold)},
              backends_.mover, backends_.moverWhy,
              Gates(GateSettings::of(context.project, context.task), options.paths), pacing_,
              streaks_, errors_, logger_, log_, tiering_.get()) {
        logBackends(backends_, logger_, log_);
    }

    void beginCycle(std::span<const Target> targets, std::stop_token stop) override {
        states_.clear();
        errors_.clear();
        if (!backends_.scanner) {
            errors_.add(backends_.scannerWhy);
            return;
        }
        for (const auto& target : targets) {
            if (stop.stop_requested()) return;
            TargetState state;
            state.target.pid = target.pid;
            state.target.comm = target.comm;
            state.target.cgroup = target.cgroup;
            // Our own handle: the engine must not depend on the caller's vector living on.
            state.target.pidfd = UniqueFd(::fcntl(target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
            state.log = log_;
            state.log.pid = target.pid;
            state.presentOnly = backends_.scanner->reportsOnlyPresentPages();
            if (!state.target.pidfd) continue;
            states_.push_back(std::move(state));
        }
        streaks_.handOut(states_);
        pool_ = std::make_unique<WorkerPool>(std::min<std::size_t>(maxThreads_, states_.size()));
        if (pacing_.pausesCycle(firstTarget())) return;
        forEachTarget(stop, [this](TargetState& state, std::stop_token token) {
            startCounting(state, paths_, backends_.pagemapScan, *backends_.scanner, token);
        });
        backends_.scanner->beginWatching(stop);
    }

    void scan(std::stop_token stop) override { forEachTarget(stop, countRound); }

    CycleReport act(std::stop_token stop) override {
        CycleReport report;
        report.scanner = backends_.scanner ? std::string(backends_.scanner->name()) : "";
        report.swapper = backends_.mover ? std::string(backends_.mover->name()) : "";
        report.histogram.assign(std::size_t{3} * loop_ + 1, 0);
        const bool mayMove = eviction_.begin(firstTarget());
        std::mutex merge;
        forEachTarget(stop, [&](TargetState& state, std::stop_token token) {
            if (!state.session) return;
            Classification classes;
            std::uint64_t moved = eviction_.evict(state, token, mayMove, classes);
            state.counts.clear();  // the cycle's state goes as soon as the target is done
            std::lock_guard lock(merge);
            report.pagesHot += classes.hot;
            report.pagesCold += classes.cold;
            report.pagesScanned += classes.hot + classes.cold;
            report.pagesSwapped += moved;
            for (std::size_t i = 0; i < classes.histogram.size(); ++i)
                report.histogram[i] += classes.histogram[i];
        });
        report.bytesSwapped = report.pagesSwapped * kPageSize;
        if (tiering_) tiering_->end(report);
        pacing_.end(report, logger_, log_);
        streaks_.keep(states_);
        report.error = errors_.finish(logger_, log_);
        states_.clear();  // frees the cycle's state and the targets' files
        pool_.reset();
        return report;
    }

  private:
    using TargetWork = std::function<void(TargetState&, std::stop_token)>;

    // Memory tiers when the task sends cold pages to a node (its swap mover then serves
    // the chain to swap).
    std::unique_ptr<Tiering> makeTiering(const EngineContext& context,
                                         const SlideOptions& options) {
        if (context.task.slide.coldNode < 0 && context.task.slide.nodePairs.empty()) return nullptr;
        TieringSettings settings =
            TieringSettings::of(context.project, context.task, options.paths);
        settings.pageNodes = options.pageNodesOverride;
        return std::make_unique<Tiering>(std::move(settings), backends_.mover, backends_.moverWhy,
                                         pacing_, errors_);
    }

    const Target* firstTarget() const {
        return states_.empty() ? nullptr : &states_.front().target;
    }

    // Runs work on every live target on the cycle's workers, one target per worker at a
    // time. A target that exits is dropped; a backend that cannot work is reported.
    void forEachTarget(std::stop_token stop, const TargetWork& work) {
        if (!pool_) return;
        pool_->run(states_.size(), [&](std::size_t i) {
            if (stop.stop_requested()) return;
            runGuarded(states_[i], stop, work);
        });
    }

    void runGuarded(TargetState& state, std::stop_token stop, const TargetWork& work) {
        if (state.dropped) return;
        try {
            work(state, stop);
        } catch (const TargetGone&) {
            drop(state, "the process exited during the cycle; it is dropped from this cycle");
        } catch (const TargetSkipped& e) {
            errors_.add(e.what());
            drop(state, e.what(), LogLevel::Warning);
        } catch (const BackendUnavailable& e) {
            errors_.add(e.what());
            drop(state, fmt::format("not scanned: {}", e.what()));
        } catch (const std::exception& e) {
            if (!state.target.alive()) {
                drop(state, "the process exited during the cycle; it is dropped from this cycle");
                return;
            }
            errors_.add(fmt::format("process {}: {}", state.target.pid, e.what()));
            drop(state, fmt::format("dropped from this cycle: {}", e.what()));
        }
    }

    void drop(TargetState& state, std::string_view why, LogLevel level = LogLevel::Info) {
        state.dropped = true;
        state.session.reset();
        state.counts.clear();
        logger_.log(level, state.log, why);
    }

    unsigned loop_;
    unsigned maxThreads_;
    LogContext log_;
    Logger& logger_;
    KernelPaths paths_;
    SlideBackends backends_;
    CycleErrors errors_;
    ColdStreaks streaks_;
    CyclePacing pacing_;
    std::unique_ptr<Tiering> tiering_;
    Eviction eviction_;
    std::vector<TargetState> states_;
    std::unique_ptr<WorkerPool> pool_;
};

}  // namespace

std::unique_ptr<TaskEngine> makeSlideEngine(const EngineContext& context, SlideOptions options) {
    return std::make_unique<SlideEngine>(context, std::move(options));
}

}  // namespace etmem::slide
