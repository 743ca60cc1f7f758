#include "etmem/slide/slide_engine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "etmem/slide/pacing.hpp"
#include "etmem/slide/pagemap.hpp"

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

// Marks a cold page chosen for swap-out between classification and confirmation.
constexpr std::uint8_t kChosenForSwap = 255;
static_assert(kChosenForSwap > kMaxCount);

// One target during one cycle.
struct TargetState {
    Target target;
    LogContext log;
    std::vector<Vma> vmas;
    std::vector<std::size_t> firstPage;  // index of each vma's first page in counts
    std::vector<std::uint8_t> counts;    // one byte per candidate page
    std::unique_ptr<ScanSession> session;
    bool dropped = false;

    // Adds the weight of an observation to the pages it covers, clipped to the candidates.
    void record(std::uint64_t address, std::uint64_t pages, PageAccess access) {
        std::uint8_t weight = weightOf(access);
        if (weight == 0) return;
        std::uint64_t end = address + pages * kPageSize;
        auto it = std::upper_bound(vmas.begin(), vmas.end(), address,
                                   [](std::uint64_t a, const Vma& v) { return a < v.range.start; });
        if (it != vmas.begin()) --it;
        for (; it != vmas.end() && it->range.start < end; ++it) {
            std::uint64_t from = std::max(address, it->range.start);
            std::uint64_t to = std::min(end, it->range.end);
            if (from >= to) continue;
            std::size_t base = firstPage[static_cast<std::size_t>(it - vmas.begin())];
            for (std::uint64_t a = from; a < to; a += kPageSize)
                addWeight(counts[base + (a - it->range.start) / kPageSize], weight);
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

class SlideEngine final : public TaskEngine {
  public:
    SlideEngine(const EngineContext& context, SlideOptions options)
        : loop_(context.project.loop),
          threshold_(context.task.T),
          maxThreads_(std::max(1u, context.task.maxThreads)),
          log_(context.log),
          logger_(context.logger),
          options_(std::move(options)) {
        if (PacingLimits limits{context.task.maxSwapRate, context.task.pressureLimit};
            limits.active()) {
            pacer_.emplace(limits);
            pacingWindow_ = std::chrono::seconds(context.project.interval);
        }
        BackendProbe probe;
        if (!options_.scannerOverride || !options_.swapperOverride)
            probe = probeBackends(options_.paths);
        scanner_ = options_.scannerOverride;
        if (!scanner_) scanner_ = makeScanner(options_.scanner, probe, options_.paths, scannerWhy_);
        swapper_ = options_.swapperOverride;
        if (!swapper_) swapper_ = makeSwapper(options_.swapper, probe, options_.paths, swapperWhy_);
        logger_.log(LogLevel::Info, log_,
                    fmt::format("slide engine: scanner {}, swapper {}",
                                scanner_ ? scanner_->name() : "none",
                                swapper_ ? swapper_->name() : "none"));
        if (!scanner_) logger_.log(LogLevel::Warning, log_, scannerWhy_);
        if (!swapper_) logger_.log(LogLevel::Warning, log_, swapperWhy_);
    }

    void beginCycle(std::span<const Target> targets) override {
        states_.clear();
        errors_.clear();
        if (!scanner_) {
            addError(scannerWhy_);
            return;
        }
        for (const auto& target : targets) {
            TargetState state;
            state.target.pid = target.pid;
            state.target.comm = target.comm;
            state.target.cgroup = target.cgroup;
            // Our own handle: the engine must not depend on the caller's vector living on.
            state.target.pidfd = UniqueFd(::fcntl(target.pidfd.get(), F_DUPFD_CLOEXEC, 0));
            state.log = log_;
            state.log.pid = target.pid;
            if (!state.target.pidfd) continue;
            states_.push_back(std::move(state));
        }
        if (pressurePausesCycle()) return;
        std::stop_source never;
        forEachTarget(never.get_token(),
                      [this](TargetState& state, std::stop_token stop) { prepare(state, stop); });
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
        beginPacing();
        std::mutex merge;
        forEachTarget(stop, [&](TargetState& state, std::stop_token token) {
            if (!state.session) return;
            Classification classes;
            std::uint64_t swapped = actOn(state, token, canSwap, classes);
            std::lock_guard lock(merge);
            report.pagesHot += classes.hot;
            report.pagesCold += classes.cold;
            report.pagesScanned += classes.hot + classes.cold;
            report.pagesSwapped += swapped;
            for (std::size_t i = 0; i < classes.histogram.size(); ++i)
                report.histogram[i] += classes.histogram[i];
        });
        report.bytesSwapped = report.pagesSwapped * kPageSize;
        endPacing(report.pacing);
        report.error = joinErrors();
        if (!report.error.empty() && report.error != lastLoggedError_)
            logger_.log(LogLevel::Warning, log_, report.error);
        lastLoggedError_ = report.error;
        states_.clear();  // frees the cycle's state and the targets' files
        return report;
    }

  private:
    using TargetWork = std::function<void(TargetState&, std::stop_token)>;

    // Runs work on every live target, on up to max_threads workers, one target per worker
    // at a time. A target that exits is dropped; a backend that cannot work is reported.
    void forEachTarget(std::stop_token stop, const TargetWork& work) {
        std::atomic<std::size_t> next{0};
        auto worker = [&] {
            for (std::size_t i = next++; i < states_.size(); i = next++) {
                if (stop.stop_requested()) return;
                runGuarded(states_[i], stop, work);
            }
        };
        std::size_t workers = std::min<std::size_t>(maxThreads_, states_.size());
        if (workers <= 1) {
            worker();
            return;
        }
        std::vector<std::jthread> pool;
        for (std::size_t w = 0; w < workers; ++w) pool.emplace_back(worker);
    }

    void runGuarded(TargetState& state, std::stop_token stop, const TargetWork& work) {
        if (state.dropped) return;
        try {
            work(state, stop);
        } catch (const TargetGone&) {
            drop(state, "the process exited during the cycle; it is dropped from this cycle");
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

    void drop(TargetState& state, std::string_view why) {
        state.dropped = true;
        state.session.reset();
        state.counts = {};
        logger_.log(LogLevel::Info, state.log, why);
    }

    void prepare(TargetState& state, std::stop_token stop) {
        UniqueFd smaps(openTargetFile(state.target, options_.paths.proc, "smaps", O_RDONLY));
        state.vmas = parseCandidateVmas(readWholeFile(smaps.get()));
        std::size_t pages = 0;
        for (const auto& vma : state.vmas) {
            state.firstPage.push_back(pages);
            pages += vma.range.pages();
        }
        state.counts.assign(pages, 0);
        state.session = scanner_->watch(state.target, state.vmas, stop);
    }

    // Classifies the target's resident candidate pages, swaps the cold ones out and returns
    // how many of them pagemap then shows as swapped.
    std::uint64_t actOn(TargetState& state, std::stop_token stop, bool canSwap,
                        Classification& classes) {
        UniqueFd pagemap(openTargetFile(state.target, options_.paths.proc, "pagemap", O_RDONLY));
        std::vector<PageRange> cold;
        // Paced swap-out may not take all: it goes coldest first (lowest count first).
        std::vector<std::vector<PageRange>> coldByCount(pacer_ ? kMaxCount + 1 : 0);
        for (std::size_t v = 0; v < state.vmas.size(); ++v) {
            const auto& vma = state.vmas[v];
            std::uint8_t* counts = state.counts.data() + state.firstPage[v];
            bool complete = readPagemap(
                pagemap.get(), vma.range, stop,
                [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                    for (std::size_t i = 0; i < entries.size(); ++i) {
                        if (!entries[i].swappable()) continue;
                        std::uint64_t page = address + i * kPageSize;
                        std::uint8_t& count = counts[(page - vma.range.start) / kPageSize];
                        classifyInto(classes, count, loop_, threshold_);
                        if (isHot(count, threshold_)) continue;
                        appendPages(pacer_ ? coldByCount[count] : cold, page);
                        count = kChosenForSwap;
                    }
                });
            if (!complete) return 0;
        }
        for (const auto& level : coldByCount) cold.insert(cold.end(), level.begin(), level.end());
        if (!canSwap || cold.empty()) return 0;
        if (pacer_) return swapOutPacedTarget(state, pagemap.get(), cold, stop);
        std::uint64_t accepted = swapper_->swapOut(state.target, cold, stop);
        std::uint64_t confirmed = countSwapped(state, pagemap.get(), stop);
        logger_.log(LogLevel::Debug, state.log,
                    fmt::format("{} hot, {} cold pages; {} cold ranges, the kernel accepted {} "
                                "bytes and {} pages now read as swapped",
                                classes.hot, classes.cold, cold.size(), accepted, confirmed));
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
    void endPacing(CycleReport::Pacing& report) {
        if (!pacer_) return;
        if (auto change = pacingChange(lastPacing_, actPacing_))
            logger_.log(LogLevel::Info, log_, *change);
        lastPacing_ = actPacing_;
        report = {actPacing_.paced, actPacing_.paused, actPacing_.reason, actPacing_.rate,
                  actPacing_.pressure.value_or(-1)};
    }

    // The hook of max_swap_rate and pressure_limit: the task's targets share one pacer, so
    // they swap one after another.
    std::uint64_t swapOutPacedTarget(TargetState& state, int pagemapFd,
                                     const std::vector<PageRange>& cold, std::stop_token stop) {
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

    // The pages chosen for swap-out whose pagemap entry now says swapped.
    std::uint64_t countSwapped(TargetState& state, int pagemapFd, std::stop_token stop) {
        std::uint64_t swapped = 0;
        for (std::size_t v = 0; v < state.vmas.size(); ++v) {
            const auto& vma = state.vmas[v];
            const std::uint8_t* counts = state.counts.data() + state.firstPage[v];
            readPagemap(pagemapFd, vma.range, stop,
                        [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                            std::size_t first = (address - vma.range.start) / kPageSize;
                            for (std::size_t i = 0; i < entries.size(); ++i)
                                if (counts[first + i] == kChosenForSwap && entries[i].swapped())
                                    ++swapped;
                        });
        }
        return swapped;
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
    LogContext log_;
    Logger& logger_;
    SlideOptions options_;
    std::shared_ptr<AccessScanner> scanner_;
    std::shared_ptr<Swapper> swapper_;
    std::string scannerWhy_;
    std::string swapperWhy_;
    std::vector<TargetState> states_;
    std::mutex errorsMutex_;
    std::vector<std::string> errors_;
    std::string lastLoggedError_;
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
