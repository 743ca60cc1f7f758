#include "etmem/slide/slide_engine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "etmem/slide/gates.hpp"
#include "etmem/slide/pacing.hpp"
#include "etmem/slide/page_counts.hpp"
#include "etmem/slide/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {

std::uint8_t weightOf(PageAccess access) {
    switch (access) {
        case PageAccess::Read:
            return 1;
        case PageAccess::Written:
            return 3;
        case PageAccess::Idle:
        case PageAccess::Hole:
            return 0;
    }
    return 0;
}

void addWeight(std::uint8_t& count, std::uint8_t weight) {
    count = static_cast<std::uint8_t>(std::min<unsigned>(kMaxCount, unsigned{count} + weight));
}

bool isHot(std::uint8_t count, unsigned threshold) {
    return count >= std::min<unsigned>(threshold, kMaxCount);
}

void classifyInto(Classification& result, std::uint8_t count, unsigned loop, unsigned threshold) {
    std::size_t buckets = std::size_t{3} * loop + 1;
    if (result.histogram.size() < buckets) result.histogram.resize(buckets, 0);
    result.histogram[std::min<std::size_t>(count, buckets - 1)]++;
    if (isHot(count, threshold))
        result.hot++;
    else
        result.cold++;
}

namespace {

// Marks a page of a chunk once classification chose it for swap-out, until confirmation.
constexpr std::uint8_t kChosenForSwap = 255;
static_assert(kChosenForSwap > kMaxCount);

// A fixed set of workers for one cycle: every stage of the cycle hands them the targets, so
// no thread is made per round. The calling thread works too.
class WorkerPool {
  public:
    explicit WorkerPool(std::size_t workers) {
        for (std::size_t i = 1; i < workers; ++i)
            threads_.emplace_back([this](std::stop_token quit) { serve(quit); });
    }
    ~WorkerPool() {
        {
            std::lock_guard lock(mutex_);
            quit_ = true;
        }
        wake_.notify_all();
    }  // jthreads join

    // Runs work(i) for i in [0, items) and returns when all are done.
    void run(std::size_t items, const std::function<void(std::size_t)>& work) {
        {
            std::lock_guard lock(mutex_);
            work_ = &work;
            items_ = items;
            next_ = 0;
            pending_ = threads_.size();
            ++generation_;
        }
        wake_.notify_all();
        drain(work, items);
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return pending_ == 0; });
        work_ = nullptr;
    }

  private:
    void drain(const std::function<void(std::size_t)>& work, std::size_t items) {
        for (std::size_t i = next_++; i < items; i = next_++) work(i);
    }

    void serve(std::stop_token) {
        std::uint64_t seen = 0;
        for (;;) {
            const std::function<void(std::size_t)>* work = nullptr;
            std::size_t items = 0;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
                if (quit_) return;
                seen = generation_;
                work = work_;
                items = items_;
            }
            drain(*work, items);
            std::lock_guard lock(mutex_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    const std::function<void(std::size_t)>* work_ = nullptr;
    std::size_t items_ = 0;
    std::atomic<std::size_t> next_{0};
    std::size_t pending_ = 0;
    std::uint64_t generation_ = 0;
    bool quit_ = false;
    std::vector<std::jthread> threads_;
};

// The target is not handled this cycle for a reason the operator should hear of.
class TargetSkipped : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One target during one cycle.
struct TargetState {
    Target target;
    LogContext log;
    std::vector<Vma> vmas;
    PageCounts counts;
    UniqueFd pagemap;
    std::unique_ptr<ScanSession> session;
    bool presentOnly = false;  // the scanner reports present pages only
    bool dropped = false;
    // cold_cycles > 1: the consecutive cold cycles of each cold page, as of the previous
    // cycle and as of this one (1 byte per cold resident page).
    PageCounts previousStreaks;
    PageCounts streaks;
    bool classified = false;  // this cycle's act stage classified its pages

    // Adds the weight of an observation to the pages it covers, clipped to the candidates.
    void record(std::uint64_t address, std::uint64_t pages, PageAccess access) {
        std::uint8_t weight = weightOf(access);
        if (weight == 0) return;
        auto add = [weight](std::uint8_t& count) {
            if (count <= kMaxCount) addWeight(count, weight);
        };
        std::uint64_t end = address + pages * kPageSize;
        auto it = std::upper_bound(vmas.begin(), vmas.end(), address,
                                   [](std::uint64_t a, const Vma& v) { return a < v.range.start; });
        if (it != vmas.begin()) --it;
        for (; it != vmas.end() && it->range.start < end; ++it) {
            std::uint64_t from = std::max(address, it->range.start);
            std::uint64_t to = std::min(end, it->range.end);
            if (from >= to) continue;
            std::uint64_t n = (to - from) / kPageSize;
            // A region observation may span unpopulated address space: it only adds to
            // pages already known, unless it is small enough to be page-granular.
            if (presentOnly || n <= kChunkPages)
                counts.forPages(from, n, add);
            else
                counts.forExistingPages(from, n, add);
        }
    }
};

class StateSink final : public AccessSink {
  public:
    explicit StateSink(TargetState& state) : state_(state) {}
    void record(std::uint64_t address, std::uint64_t pages, PageAccess access) override {
        state_.record(address, pages, access);
    }

  private:
    TargetState& state_;
};

std::string readWholeFile(int fd) {
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

bool swapIsActive(const KernelPaths& paths) {
    std::ifstream swaps(paths.proc / "swaps");
    std::string line;
    std::getline(swaps, line);
    while (std::getline(swaps, line))
        if (!line.empty()) return true;
    return false;
}

// Visits the resident candidate pages (present, anonymous, mapped once) of the target's
// candidate mappings in address order, skipping the mappings that hold none (as the
// idle_page scanner does). Returns false if stopped.
template <typename Visit>
bool forEachCandidatePage(TargetState& state, PresentPagemap& present, std::stop_token stop,
                          Visit visit) {
    for (const auto& vma : state.vmas) {
        if (!vma.mayHoldCandidatePages) continue;
        bool complete =
            present.read(vma.range, readStraight(vma), stop,
                         [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                             for (std::size_t i = 0; i < entries.size(); ++i)
                                 if (entries[i].swappable()) visit(address + i * kPageSize);
                         });
        if (!complete) return false;
    }
    return true;
}

// Collects ranges for the swapper and hands them over in calls it can finish promptly.
class SwapBatch {
  public:
    SwapBatch(Swapper& swapper, const Target& target, std::stop_token stop)
        : swapper_(swapper), target_(target), stop_(stop) {}
    void add(std::uint64_t address) {
        appendPages(ranges_, address);
        bytes_ += kPageSize;
        if (bytes_ >= kMaxBytesPerCall || ranges_.size() >= kMaxIovecsPerCall) flush();
    }
    void flush() {
        if (!ranges_.empty() && !stop_.stop_requested())
            accepted_ += swapper_.swapOut(target_, ranges_, stop_);
        ranges_.clear();
        bytes_ = 0;
    }
    std::uint64_t accepted() const { return accepted_; }

  private:
    Swapper& swapper_;
    const Target& target_;
    std::stop_token stop_;
    std::vector<PageRange> ranges_;
    std::uint64_t bytes_ = 0;
    std::uint64_t accepted_ = 0;
};

class SlideEngine final : public TaskEngine {
  public:
    SlideEngine(const EngineContext& context, SlideOptions options)
        : loop_(context.project.loop),
          threshold_(context.task.slide.T),
          maxThreads_(std::max(1u, context.task.maxThreads)),
          coldCycles_(std::max(1u, context.task.slide.coldCycles)),
          log_(context.log),
          logger_(context.logger),
          options_(std::move(options)),
          gates_(GateSettings::of(context.project, context.task), options_.paths) {
        if (PacingLimits limits{context.task.slide.maxSwapRate, context.task.slide.pressureLimit};
            limits.active()) {
            pacer_.emplace(limits);
            pacingWindow_ = std::chrono::seconds(context.project.interval);
        }
        BackendProbe probe;
        if (!options_.scannerOverride || !options_.swapperOverride)
            probe = probeBackends(options_.paths);
        pagemapScan_ = !options_.withoutPagemapScan && pagemapScanAvailable();
        probe.pagemapScan = pagemapScan_;
        scanner_ = options_.scannerOverride;
        if (!scanner_)
            scanner_ = makeScanner(options_.scanner, probe, options_.paths, scannerWhy_,
                                   damonTuningOf(context.project));
        swapper_ = options_.swapperOverride;
        if (!swapper_) swapper_ = makeSwapper(options_.swapper, probe, options_.paths, swapperWhy_);
        logger_.log(
            LogLevel::Info, log_,
            fmt::format("slide engine: scanner {}, swapper {}{}",
                        scanner_ ? scanner_->name() : "none", swapper_ ? swapper_->name() : "none",
                        pagemapScan_ ? "" : ", no PAGEMAP_SCAN (chunked pagemap walks)"));
        if (!scanner_) logger_.log(LogLevel::Warning, log_, scannerWhy_);
        if (!swapper_) logger_.log(LogLevel::Warning, log_, swapperWhy_);
    }

    void beginCycle(std::span<const Target> targets, std::stop_token stop) override {
        states_.clear();
        errors_.clear();
        if (!scanner_) {
            addError(scannerWhy_);
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
            state.presentOnly = scanner_->reportsOnlyPresentPages();
            if (!state.target.pidfd) continue;
            states_.push_back(std::move(state));
        }
        takeCarriedStreaks();
        pool_ = std::make_unique<WorkerPool>(std::min<std::size_t>(maxThreads_, states_.size()));
        if (pressurePausesCycle()) return;
        forEachTarget(stop,
                      [this](TargetState& state, std::stop_token token) { prepare(state, token); });
        scanner_->beginWatching(stop);
    }

    void scan(std::stop_token stop) override {
        forEachTarget(stop, [](TargetState& state, std::stop_token token) {
            if (!state.session) return;
            StateSink sink(state);
            state.session->round(token, sink);
        });
    }

    CycleReport act(std::stop_token stop) override {
        CycleReport report;
        report.scanner = scanner_ ? std::string(scanner_->name()) : "";
        report.swapper = swapper_ ? std::string(swapper_->name()) : "";
        report.histogram.assign(std::size_t{3} * loop_ + 1, 0);
        bool canSwap = swapper_ != nullptr;
        if (!swapper_) addError(swapperWhy_);
        bool swapActive = options_.swapActiveOverride.value_or(swapIsActive(options_.paths));
        if (canSwap && !swapActive) {
            addError(
                "no swap device is active: cold pages cannot be swapped out; turn on a swap "
                "device (zram or a swap partition/file, see swapon(8))");
            canSwap = false;
        }
        canSwap = canSwap && noteGate(gates_.forCycle(), LogLevel::Info).swap;  // etmem 1.1
        beginPacing();
        std::mutex merge;
        forEachTarget(stop, [&](TargetState& state, std::stop_token token) {
            if (!state.session) return;
            Classification classes;
            const GateDecision gate = noteGate(gates_.forTarget(state.target), LogLevel::Debug);
            std::uint64_t swapped =
                actOn(state, token, canSwap && gate.swap, classes, gate.budgetPages);
            state.counts.clear();  // the cycle's state goes as soon as the target is done
            std::lock_guard lock(merge);
            report.pagesHot += classes.hot;
            report.pagesCold += classes.cold;
            report.pagesScanned += classes.hot + classes.cold;
            report.pagesSwapped += swapped;
            for (std::size_t i = 0; i < classes.histogram.size(); ++i)
                report.histogram[i] += classes.histogram[i];
        });
        report.bytesSwapped = report.pagesSwapped * kPageSize;
        endPacing(report);
        carryStreaks();
        report.error = joinErrors();
        if (!report.error.empty() && report.error != lastLoggedError_)
            logger_.log(LogLevel::Warning, log_, report.error);
        lastLoggedError_ = report.error;
        states_.clear();  // frees the cycle's state and the targets' files
        pool_.reset();
        return report;
    }

  private:
    using TargetWork = std::function<void(TargetState&, std::stop_token)>;

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
            addError(e.what());
            drop(state, e.what(), LogLevel::Warning);
        } catch (const BackendUnavailable& e) {
            addError(e.what());
            drop(state, fmt::format("not scanned: {}", e.what()));
        } catch (const std::exception& e) {
            if (!state.target.alive()) {
                drop(state, "the process exited during the cycle; it is dropped from this cycle");
                return;
            }
            addError(fmt::format("process {}: {}", state.target.pid, e.what()));
            drop(state, fmt::format("dropped from this cycle: {}", e.what()));
        }
    }

    void drop(TargetState& state, std::string_view why, LogLevel level = LogLevel::Info) {
        state.dropped = true;
        state.session.reset();
        state.counts.clear();
        logger_.log(level, state.log, why);
    }

    // Candidate discovery and the baseline.
    void prepare(TargetState& state, std::stop_token stop) {
        UniqueFd smaps(openTargetFile(state.target, options_.paths.proc, "smaps", O_RDONLY));
        state.vmas = parseCandidateVmas(readWholeFile(smaps.get()));
        if (stop.stop_requested()) return;
        if (!pagemapScan_) {
            std::uint64_t pages = 0;
            for (const auto& vma : state.vmas) pages += vma.range.pages();
            if (pages > kMaxVirtualPagesWithoutPagemapScan)
                throw TargetSkipped(fmt::format(
                    "process {} skipped: its candidate mappings span {} GiB of address space and "
                    "this kernel has no PAGEMAP_SCAN (Linux 6.7+), so every pass would read {} MiB "
                    "of pagemap; the limit without PAGEMAP_SCAN is {} GiB",
                    state.target.pid, pages * kPageSize >> 30, pages * 8 >> 20,
                    kMaxVirtualPagesWithoutPagemapScan * kPageSize >> 30));
        }
        state.pagemap =
            UniqueFd(openTargetFile(state.target, options_.paths.proc, "pagemap", O_RDONLY));
        if (!state.presentOnly) {
            // Region scanners only add to pages the engine knows: learn the present ones.
            PresentPagemap present(state.pagemap.get(), pagemapScan_);
            if (!forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
                    state.counts.ensure(address, 1);
                }))
                return;
        }
        state.session = scanner_->watch(state.target, state.vmas, stop);
    }

    // cold_cycles > 1: each target gets the streaks its process had at the end of the last
    // cycle (a pid that now names another process gets none: the old pidfd says it exited).
    void takeCarriedStreaks() {
        for (auto& state : states_) {
            auto found = carried_.find(state.target.pid);
            if (found != carried_.end() && found->second.process.alive())
                state.previousStreaks = std::move(found->second.streaks);
        }
        carried_.clear();
    }

    // Keeps each target's streaks for the next cycle: this cycle's where its pages were
    // classified, else the ones it came with. A target missing from a cycle starts over.
    void carryStreaks() {
        if (coldCycles_ <= 1) return;
        for (auto& state : states_) {
            if (state.dropped) continue;
            CarriedStreaks carried;
            carried.process.pid = state.target.pid;
            carried.process.pidfd = UniqueFd(::fcntl(state.target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
            carried.streaks = std::move(state.classified ? state.streaks : state.previousStreaks);
            carried_[state.target.pid] = std::move(carried);
        }
    }

    // cold_cycles: whether a page cold now has been cold in that many consecutive cycles,
    // this one included (always, with the default 1). Records its streak for the next cycle.
    bool coldLongEnough(TargetState& state, std::uint64_t address) const {
        if (coldCycles_ <= 1) return true;
        const unsigned streak = std::min(state.previousStreaks.countAt(address) + 1u, coldCycles_);
        state.streaks.forPages(address, 1,
                               [&](std::uint8_t& s) { s = static_cast<std::uint8_t>(streak); });
        return streak >= coldCycles_;
    }

    // Whether a page the budget allows may go: with cold_cycles, only once its streak is full
    // (the classification left the others out of the budget).
    bool mayGo(const TargetState& state, std::uint64_t address) const {
        return coldCycles_ <= 1 || state.streaks.countAt(address) >= coldCycles_;
    }

    // Classifies the target's resident candidate pages, lets the selector choose, swaps the
    // chosen ones out in bounded calls and returns how many pagemap then shows as swapped.
    std::uint64_t actOn(TargetState& state, std::stop_token stop, bool canSwap,
                        Classification& classes, std::uint64_t budget) {
        PresentPagemap present(state.pagemap.get(), pagemapScan_);
        ColdSelection selection{state.target, 0, threshold_,
                                std::vector<std::uint64_t>(std::size_t{kMaxCount} + 1, 0)};
        bool complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
            state.counts.forPages(address, 1, [&](std::uint8_t& count) {
                if (count > kMaxCount) return;  // seen twice (cannot happen in one walk)
                classifyInto(classes, count, loop_, threshold_);
                if (!isHot(count, threshold_) && coldLongEnough(state, address))
                    selection.swapBudget[count]++;
            });
        });
        if (!complete) return 0;
        state.classified = true;
        selection.residentPages = classes.hot + classes.cold;
        if (!canSwap || classes.cold == 0) return 0;
        // etmem 1.1's dram_percent: at most `budget` pages go, the coldest first.
        if (budget != kNoBudget) keepColdestFirst(selection.swapBudget, budget);
        if (options_.selectCold) options_.selectCold(selection);
        if (pacer_)
            return swapOutPacedTarget(state, chosenColdestFirst(state, present, selection, stop),
                                      stop);
        SwapBatch batch(*swapper_, state.target, stop);
        std::uint64_t chosen = 0;
        complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
            std::uint8_t* count = state.counts.find(address);
            if (!count || *count > kMaxCount || selection.swapBudget[*count] == 0) return;
            if (!mayGo(state, address)) return;
            selection.swapBudget[*count]--;
            *count = kChosenForSwap;
            ++chosen;
            batch.add(address);
        });
        if (complete) batch.flush();
        if (std::string why = gates_.afterSwap(state.target); !why.empty()) addError(why);
        if (chosen == 0) return 0;
        std::uint64_t confirmed = countSwapped(state, stop);
        logger_.log(LogLevel::Debug, state.log,
                    fmt::format("{} hot, {} cold pages; {} chosen, the kernel accepted {} bytes "
                                "and {} pages now read as swapped",
                                classes.hot, classes.cold, chosen, batch.accepted(), confirmed));
        return confirmed;
    }

    std::filesystem::path pressureFile(const TargetState& state) const {
        return pressureFileFor(state.target.cgroup, options_.paths.sys / "fs" / "cgroup",
                               options_.paths.proc);
    }

    // Above pressure_limit the cycle does not even scan: marking pages idle and clearing
    // soft-dirty cost the workload faults and TLB flushes that swap-out would not use.
    bool pressurePausesCycle() {
        pausedBeforeScan_ = false;
        if (!pacer_ || pacer_->limits().pressureLimit == 0 || states_.empty()) return false;
        pacer_->updatePressure(readPressure(pressureFile(states_.front())));
        if (!pacer_->paused()) return false;
        actPacing_ = pausedBeforeScan(*pacer_);
        pausedBeforeScan_ = true;
        return true;
    }

    void beginPacing() {
        if (!pacer_ || pausedBeforeScan_) return;
        actPacing_ = {};
        const auto now = Pacer::Clock::now();
        std::optional<double> pressure;
        if (pacer_->limits().pressureLimit != 0 && !states_.empty())
            pressure = readPressure(pressureFile(states_.front()));
        pacer_->begin(pressure, now);
        pacingDeadline_ = now + pacingWindow_;
    }

    // The act's pacing into the report, and a journal line when it starts or ends.
    void endPacing(CycleReport& cycle) {
        if (!pacer_) return;
        if (auto change = pacingChange(lastPacing_, actPacing_, cycle.pagesSwapped > 0))
            logger_.log(LogLevel::Info, log_, *change);
        lastPacing_ = actPacing_;
        cycle.pacing = {actPacing_.paced, actPacing_.paused, actPacing_.reason, actPacing_.rate,
                        actPacing_.pressure.value_or(-1)};
    }

    // The hook of max_swap_rate and pressure_limit: the task's targets share one pacer, so
    // they swap one after another.
    std::uint64_t swapOutPacedTarget(TargetState& state, const std::vector<PageRange>& cold,
                                     std::stop_token stop) {
        const int pagemapFd = state.pagemap.get();
        std::lock_guard lock(pacerMutex_);
        PacedSwapIo io;
        io.swap = [&](std::span<const PageRange> batch) {
            swapper_->swapOut(state.target, batch, stop);
        };
        io.confirm = [&](std::span<const PageRange> batch) {
            std::uint64_t swapped = 0;
            for (const auto& range : batch)
                readPagemap(pagemapFd, range, stop,
                            [&](std::uint64_t, std::span<const PagemapEntry> entries) {
                                for (const auto& entry : entries) swapped += entry.swapped();
                            });
            return swapped;
        };
        io.pressure = [&] { return readPressure(pressureFile(state)); };
        io.sleep = [](Pacer::Clock::duration wait, std::stop_token token) {
            std::mutex mutex;
            std::condition_variable_any wake;
            std::unique_lock guard(mutex);
            wake.wait_for(guard, token, wait, [] { return false; });
            return !token.stop_requested();
        };
        io.now = [] { return Pacer::Clock::now(); };
        PacingState pacing;
        std::uint64_t confirmed = swapOutPaced(*pacer_, cold, pacingDeadline_, io, stop, pacing);
        mergePacing(actPacing_, pacing);
        return confirmed;
    }

    // Paced swap-out may not take all the selection: its pages as ranges, the coldest (lowest
    // count) first, each marked chosen. Ranges are coalesced, so this is bounded by the
    // selection, never by the address space.
    std::vector<PageRange> chosenColdestFirst(TargetState& state, PresentPagemap& present,
                                              ColdSelection& selection, std::stop_token stop) {
        std::vector<std::vector<PageRange>> byCount(std::size_t{kMaxCount} + 1);
        forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
            std::uint8_t* count = state.counts.find(address);
            if (!count || *count > kMaxCount || selection.swapBudget[*count] == 0) return;
            if (!mayGo(state, address)) return;
            selection.swapBudget[*count]--;
            appendPages(byCount[*count], address);
            *count = kChosenForSwap;
        });
        std::vector<PageRange> cold;
        for (const auto& level : byCount) cold.insert(cold.end(), level.begin(), level.end());
        return cold;
    }

    // The pages chosen for swap-out whose pagemap entry now says swapped: reads pagemap only
    // over runs of chosen pages, chunk by chunk.
    std::uint64_t countSwapped(TargetState& state, std::stop_token stop) {
        std::uint64_t swapped = 0;
        std::vector<PagemapEntry> buffer;
        for (const auto& chunk : state.counts.chunks()) {
            auto pages = chunk.pages();
            for (std::size_t i = 0; i < kChunkPages;) {
                if (pages[i] != kChosenForSwap) {
                    ++i;
                    continue;
                }
                std::size_t end = i;
                while (end < kChunkPages && pages[end] == kChosenForSwap) ++end;
                PageRange run{chunk.base + i * kPageSize, chunk.base + end * kPageSize};
                bool complete = readPagemap(
                    state.pagemap.get(), run, stop,
                    [&](std::uint64_t, std::span<const PagemapEntry> entries) {
                        for (const auto& entry : entries) swapped += entry.swapped() ? 1 : 0;
                    },
                    buffer);
                if (!complete) return swapped;
                i = end;
            }
        }
        return swapped;
    }

    // A gate's error goes to LastError; its note to the journal (the project-wide gate's
    // when it turns swapping on or off, a target's at debug level).
    GateDecision noteGate(GateDecision decision, LogLevel level) {
        if (!decision.error.empty()) addError(decision.error);
        if (decision.note.empty()) return decision;
        std::lock_guard lock(errorsMutex_);
        if (level != LogLevel::Info || lastGateSwap_ != decision.swap)
            logger_.log(level, log_, decision.note);
        if (level == LogLevel::Info) lastGateSwap_ = decision.swap;
        return decision;
    }

    void addError(std::string error) {
        std::lock_guard lock(errorsMutex_);
        if (std::find(errors_.begin(), errors_.end(), error) == errors_.end())
            errors_.push_back(std::move(error));
    }

    std::string joinErrors() {
        std::lock_guard lock(errorsMutex_);
        std::string joined;
        for (const auto& error : errors_) joined += (joined.empty() ? "" : "; ") + error;
        return joined;
    }

    unsigned loop_;
    unsigned threshold_;
    unsigned maxThreads_;
    unsigned coldCycles_;  // cold_cycles: consecutive cold cycles before a page may go
    LogContext log_;
    Logger& logger_;
    SlideOptions options_;
    bool pagemapScan_ = false;
    std::shared_ptr<AccessScanner> scanner_;
    std::shared_ptr<Swapper> swapper_;
    std::string scannerWhy_;
    std::string swapperWhy_;
    std::vector<TargetState> states_;
    // cold_cycles > 1: the targets' cold streaks from one cycle to the next, by pid (the
    // pidfd tells a reused pid). 1 byte per cold resident page.
    struct CarriedStreaks {
        Target process;
        PageCounts streaks;
    };
    std::map<pid_t, CarriedStreaks> carried_;
    std::unique_ptr<WorkerPool> pool_;
    std::mutex errorsMutex_;
    std::vector<std::string> errors_;
    std::string lastLoggedError_;
    Gates gates_;
    std::optional<bool> lastGateSwap_;
    // Pacing (max_swap_rate, pressure_limit); empty when the task sets neither.
    std::optional<Pacer> pacer_;
    std::mutex pacerMutex_;
    std::chrono::seconds pacingWindow_{1};
    Pacer::Clock::time_point pacingDeadline_{};
    PacingState actPacing_, lastPacing_;
    bool pausedBeforeScan_ = false;
};

}  // namespace

std::unique_ptr<TaskEngine> makeSlideEngine(const EngineContext& context, SlideOptions options) {
    return std::make_unique<SlideEngine>(context, std::move(options));
}

}  // namespace etmem::slide
