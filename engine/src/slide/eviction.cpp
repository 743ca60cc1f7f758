// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/eviction.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace etmem::slide {

using namespace etmem::kernel;

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

// Marks a page of a chunk once classification chose it to move, until confirmation.
constexpr std::uint8_t kChosenForSwap = 255;
static_assert(kChosenForSwap > kMaxCount);

// Collects ranges for the mover and hands them over in calls it can finish promptly.
class MoveBatch {
  public:
    MoveBatch(movers::Mover& mover, movers::MoveTarget target, std::stop_token stop)
        : mover_(mover), target_(target), stop_(stop) {}
    void add(std::uint64_t address) {
        appendPages(ranges_, address);
        bytes_ += kPageSize;
        if (bytes_ >= kMaxBytesPerCall || ranges_.size() >= kMaxIovecsPerCall) flush();
    }
    void flush() {
        if (!ranges_.empty() && !stop_.stop_requested())
            accepted_ += mover_.move(target_, ranges_, stop_);
        ranges_.clear();
        bytes_ = 0;
    }
    std::uint64_t accepted() const { return accepted_; }

  private:
    movers::Mover& mover_;
    movers::MoveTarget target_;
    std::stop_token stop_;
    std::vector<PageRange> ranges_;
    std::uint64_t bytes_ = 0;
    std::uint64_t accepted_ = 0;
};

}  // namespace

Eviction::Eviction(EvictionSettings settings, std::shared_ptr<movers::Mover> mover,
                   std::string moverWhy, Gates gates, CyclePacing& pacing,
                   const ColdStreaks& streaks, CycleErrors& errors, Logger& logger, LogContext log,
                   Tiering* tiering)
    : settings_(std::move(settings)),
      mover_(std::move(mover)),
      moverWhy_(std::move(moverWhy)),
      gates_(std::move(gates)),
      pacing_(pacing),
      streaks_(streaks),
      errors_(errors),
      logger_(logger),
      log_(std::move(log)),
      tiering_(tiering) {}

bool Eviction::begin(const Target* first) {
    if (tiering_ &&
        !settings_.observe) {  // the swap mover serves only the chain: tiering checks it
        const bool mayMove = tiering_->begin(first);
        pacing_.begin(first);
        return mayMove && noteGate(gates_.forCycle(), LogLevel::Info).swap;
    }
    // A dry run moves nothing, so it needs no mover: it says what one would be handed.
    bool mayMove = settings_.observe || mover_ != nullptr;
    if (!mayMove) errors_.add(moverWhy_);
    if (mayMove && !settings_.observe) {
        if (std::string why = mover_->unavailable(); !why.empty()) {
            errors_.add(std::move(why));
            mayMove = false;
        }
    }
    mayMove = mayMove && noteGate(gates_.forCycle(), LogLevel::Info).swap;  // etmem 1.1
    pacing_.begin(first);
    return mayMove;
}

std::uint64_t Eviction::evict(TargetState& state, std::stop_token stop, bool mayMove,
                              Classification& classes) {
    classes.refaults = state.swapped.takeRefaults(state.pagemap.get(), stop);
    const GateDecision gate = noteGate(gates_.forTarget(state.target), LogLevel::Debug);
    return classifyAndMove(state, stop, mayMove && gate.swap, classes, gate.budgetPages);
}

// Classifies the target's resident candidate pages, lets the selector choose, moves the
// chosen ones in bounded calls and returns how many the mover then confirms.
std::uint64_t Eviction::classifyAndMove(TargetState& state, std::stop_token stop, bool mayMove,
                                        Classification& classes, std::uint64_t budget) {
    PresentPagemap present(state.pagemap.get(), settings_.pagemapScan);
    classes.idleByAge.assign(kIdleAgeBuckets, 0);
    ColdSelection selection{state.target, 0, settings_.threshold,
                            std::vector<std::uint64_t>(std::size_t{kMaxCount} + 1, 0)};
    bool complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
        state.counts.forPages(address, 1, [&](std::uint8_t& count) {
            if (count > kMaxCount) return;  // seen twice (cannot happen in one walk)
            classifyInto(classes, count, settings_.loop, settings_.threshold);
            if (isHot(count, settings_.threshold)) return;
            const unsigned streak = streaks_.recordCold(state, address);
            classes.idleByAge[idleAgeBucket(streak)]++;
            if (streaks_.longEnough(streak)) selection.swapBudget[count]++;
        });
    });
    if (!complete) return 0;
    state.classified = true;
    selection.residentPages = classes.hot + classes.cold;
    if (mayMove && tiering_) return tiering_->act(state, present, stop);
    if (!mayMove || classes.cold == 0) return 0;
    // etmem 1.1's dram_percent: at most `budget` pages go, the coldest first.
    if (budget != kNoBudget) keepColdestFirst(selection.swapBudget, budget);
    if (settings_.selectCold) settings_.selectCold(selection);
    if (settings_.observe) return countChosen(state, present, selection, stop);
    if (pacing_.active()) {
        const std::vector<PageRange> chosen = chosenColdestFirst(state, present, selection, stop);
        const std::uint64_t moved = pacing_.move(state, *mover_, chosen, stop);
        state.swapped.remember(state.pagemap.get(), chosen, stop);
        return moved;
    }
    return moveInBatches(state, present, selection, stop, classes);
}

// Whether the page at address goes: the selection's budget for its count allows it and its
// cold streak is full. If so, takes it from the budget, marks it chosen and returns the
// count it had.
std::optional<std::uint8_t> Eviction::choose(TargetState& state, std::uint64_t address,
                                             ColdSelection& selection) const {
    std::uint8_t* count = state.counts.find(address);
    if (!count || *count > kMaxCount || selection.swapBudget[*count] == 0) return std::nullopt;
    if (!streaks_.mayGo(state, address)) return std::nullopt;
    const std::uint8_t level = *count;
    selection.swapBudget[level]--;
    *count = kChosenForSwap;
    return level;
}

// The dry run's count: the pages choose() takes, exactly as moveInBatches would hand them
// to the mover.
std::uint64_t Eviction::countChosen(TargetState& state, PresentPagemap& present,
                                    ColdSelection& selection, std::stop_token stop) {
    std::uint64_t chosen = 0;
    bool complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
        if (choose(state, address, selection)) ++chosen;
    });
    return complete ? chosen : 0;
}

std::uint64_t Eviction::moveInBatches(TargetState& state, PresentPagemap& present,
                                      ColdSelection& selection, std::stop_token stop,
                                      const Classification& classes) {
    MoveBatch batch(*mover_, {state.target, state.pagemap.get()}, stop);
    std::uint64_t chosen = 0;
    bool complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
        if (!choose(state, address, selection)) return;
        ++chosen;
        batch.add(address);
    });
    if (complete) batch.flush();
    if (std::string why = gates_.afterSwap(state.target); !why.empty()) errors_.add(why);
    if (chosen == 0) return 0;
    std::uint64_t confirmed = confirmChosen(state, stop);
    logger_.log(LogLevel::Debug, state.log,
                fmt::format("{} hot, {} cold pages; {} chosen, the kernel accepted {} bytes "
                            "and {} pages now read as swapped",
                            classes.hot, classes.cold, chosen, batch.accepted(), confirmed));
    return confirmed;
}

// Paced moves may not take all the selection: its pages as ranges, the coldest (lowest
// count) first, each marked chosen. Ranges are coalesced, so this is bounded by the
// selection, never by the address space.
std::vector<PageRange> Eviction::chosenColdestFirst(TargetState& state, PresentPagemap& present,
                                                    ColdSelection& selection,
                                                    std::stop_token stop) {
    std::vector<std::vector<PageRange>> byCount(std::size_t{kMaxCount} + 1);
    forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
        if (auto level = choose(state, address, selection)) appendPages(byCount[*level], address);
    });
    std::vector<PageRange> cold;
    for (const auto& level : byCount) cold.insert(cold.end(), level.begin(), level.end());
    return cold;
}

// The chosen pages the mover confirms: asks it only about runs of chosen pages, chunk by
// chunk, and follows the ones swapped for refaults.
std::uint64_t Eviction::confirmChosen(TargetState& state, std::stop_token stop) {
    const movers::MoveTarget target{state.target, state.pagemap.get()};
    std::uint64_t confirmed = 0;
    std::vector<PageRange> runs, moved;
    for (const auto& chunk : state.counts.chunks()) {
        auto pages = chunk.pages();
        runs.clear();
        for (std::size_t i = 0; i < kChunkPages;) {
            if (pages[i] != kChosenForSwap) {
                ++i;
                continue;
            }
            std::size_t end = i;
            while (end < kChunkPages && pages[end] == kChosenForSwap) ++end;
            runs.push_back({chunk.base + i * kPageSize, chunk.base + end * kPageSize});
            i = end;
        }
        if (runs.empty()) continue;
        confirmed += mover_->confirm(target, runs, stop);
        moved.insert(moved.end(), runs.begin(), runs.end());
        if (stop.stop_requested()) return confirmed;
    }
    state.swapped.remember(state.pagemap.get(), moved, stop);
    return confirmed;
}

// A gate's error goes to LastError; its note to the journal (the project-wide gate's when it
// turns swapping on or off, a target's at debug level).
GateDecision Eviction::noteGate(GateDecision decision, LogLevel level) {
    if (!decision.error.empty()) errors_.add(decision.error);
    if (decision.note.empty()) return decision;
    std::lock_guard lock(gateMutex_);
    if (level != LogLevel::Info || lastGateSwap_ != decision.swap)
        logger_.log(level, log_, decision.note);
    if (level == LogLevel::Info) lastGateSwap_ = decision.swap;
    return decision;
}

}  // namespace etmem::slide
