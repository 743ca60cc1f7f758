// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/tiering.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "etmem/slide/slide_engine.hpp"

namespace etmem::slide {

using namespace etmem::kernel;

namespace {

// Pages asked about per group while walking a target: 64 Ki addresses (512 KiB) and their
// answers, whatever the target's size.
constexpr std::size_t kGroupPages = 64 * 1024;

// Ranges cut into calls of at most kMaxBytesPerCall.
std::vector<std::vector<PageRange>> inCalls(const std::vector<PageRange>& ranges) {
    std::vector<std::vector<PageRange>> calls(1);
    std::uint64_t bytes = 0;
    for (PageRange range : ranges) {
        while (range.start < range.end) {
            if (bytes == kMaxBytesPerCall || calls.back().size() == kMaxIovecsPerCall) {
                calls.emplace_back();
                bytes = 0;
            }
            const std::uint64_t take = std::min(range.end - range.start, kMaxBytesPerCall - bytes);
            calls.back().push_back({range.start, range.start + take});
            bytes += take;
            range.start += take;
        }
    }
    return calls;
}

// The first `pages` pages of ranges.
std::vector<PageRange> firstPages(std::vector<PageRange> ranges, std::uint64_t pages) {
    std::vector<PageRange> kept;
    for (PageRange range : ranges) {
        if (pages == 0) break;
        const std::uint64_t take = std::min(range.pages(), pages);
        kept.push_back({range.start, range.start + take * kPageSize});
        pages -= take;
    }
    return kept;
}

}  // namespace

std::string tier_figure::pagesOnNode(int node) {
    return fmt::format("pages_node{}", node);
}

TieringSettings TieringSettings::of(const ProjectConfig& project, const TaskConfig& task,
                                    const KernelPaths& paths) {
    TieringSettings settings;
    settings.coldNode = task.slide.coldNode;
    settings.threshold = task.slide.T;
    settings.coldCycles = std::max(1u, task.slide.coldCycles);
    settings.thenSwapAfter = task.slide.thenSwapAfter;
    settings.hotReserveBytes = task.slide.hotReserveBytes;
    settings.hotReservePercent = task.slide.hotReservePercent;
    settings.migrateLimits = {task.slide.maxMigrateRate, task.slide.pressureLimit};
    settings.window = std::chrono::seconds(std::max(1u, project.interval));
    settings.paths = paths;
    return settings;
}

Tiering::Tiering(TieringSettings settings, std::shared_ptr<movers::Mover> swapMover,
                 std::string swapWhy, CyclePacing& swapPacing, CycleErrors& errors)
    : settings_(std::move(settings)),
      swapMover_(std::move(swapMover)),
      swapWhy_(std::move(swapWhy)),
      swapPacing_(swapPacing),
      errors_(errors) {
    if (!settings_.pageNodes) settings_.pageNodes = movers::kernelPageNodes();
    if (settings_.migrateLimits.active()) {
        demotion_.pacer.emplace(settings_.migrateLimits);
        promotion_.pacer.emplace(settings_.migrateLimits);
    }
}

bool Tiering::begin(const Target* first) {
    tiers_ = discoverMemoryTiers(settings_.paths);
    pagesPerNode_.clear();
    demotion_.pages = 0;
    promotion_.pages = 0;
    pageErrors_ = 0;
    started_ = Pacer::Clock::now();
    deadline_ = started_ + settings_.window;
    if (auto problem = coldNodeProblem(tiers_, settings_.coldNode, "cold_destination");
        !problem.empty()) {
        errors_.add(std::move(problem));
        return false;
    }
    coldRank_ = tiers_.find(settings_.coldNode)->rank;
    // Promotion goes to the fastest node with room above its reserve.
    fastNode_ = -1;
    roomPages_ = 0;
    for (const MemoryNode* node : tiers_.fastestFirst()) {
        if (node->rank >= coldRank_) break;
        const std::uint64_t reserve = settings_.hotReservePercent != 0
                                          ? node->totalBytes / 100 * settings_.hotReservePercent
                                          : settings_.hotReserveBytes;
        if (node->freeBytes <= reserve) continue;
        fastNode_ = node->id;
        roomPages_ = (node->freeBytes - reserve) / kPageSize;
        break;
    }
    maySwap_ = false;
    if (settings_.thenSwapAfter != 0) {
        std::string why = swapMover_ ? swapMover_->unavailable() : swapWhy_;
        if (why.empty())
            maySwap_ = true;
        else
            errors_.add(
                fmt::format("then_swap_after: pages stay on node {}: {}", settings_.coldNode, why));
    }
    if (settings_.migrateLimits.active()) {
        std::optional<double> pressure;
        if (settings_.migrateLimits.pressureLimit != 0 && first)
            pressure = readPressure(pressureFileFor(
                first->cgroup, settings_.paths.sys / "fs" / "cgroup", settings_.paths.proc));
        demotion_.pacer->begin(pressure, started_);
        promotion_.pacer->begin(pressure, started_);
    }
    return true;
}

std::uint64_t Tiering::act(TargetState& state, PresentPagemap& present, std::stop_token stop) {
    Plan plan;
    std::vector<std::uint64_t> group;
    group.reserve(kGroupPages);
    bool complete = forEachCandidatePage(state, present, stop, [&](std::uint64_t address) {
        group.push_back(address);
        if (group.size() < kGroupPages) return;
        sortPages(state, group, plan, stop);
        group.clear();
    });
    if (!complete) return 0;
    sortPages(state, group, plan, stop);
    migrate(state, demotion_, settings_.coldNode, std::move(plan.demote), stop);
    if (!plan.promote.empty() && fastNode_ >= 0)
        migrate(state, promotion_, fastNode_, takeRoom(std::move(plan.promote)), stop);
    return swapOut(state, plan.swap, stop);
}

// Where each page is, and what should happen to it.
void Tiering::sortPages(TargetState& state, std::span<const std::uint64_t> addresses, Plan& plan,
                        std::stop_token stop) {
    if (addresses.empty()) return;
    std::vector<int> status(addresses.size());
    pageErrors_ +=
        movers::queryNodes(*settings_.pageNodes, state.target, addresses, status, stop).pageErrors;
    const bool keepsStreaks = settings_.coldCycles > 1 || settings_.thenSwapAfter != 0;
    const int fastRank = fastNode_ >= 0 ? tiers_.find(fastNode_)->rank : 0;
    std::map<int, std::uint64_t> perNode;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const int node = status[i];
        const MemoryNode* where = node >= 0 ? tiers_.find(node) : nullptr;
        if (where == nullptr) continue;
        perNode[node]++;
        const std::uint64_t address = addresses[i];
        if (isHot(state.counts.countAt(address), settings_.threshold)) {
            if (fastNode_ >= 0 && where->rank > fastRank) appendPages(plan.promote, address);
            continue;
        }
        const unsigned streak = keepsStreaks ? state.streaks.countAt(address) : 1;
        if (streak < settings_.coldCycles) continue;
        if (where->rank < coldRank_)
            appendPages(plan.demote, address);
        else if (maySwap_ && streak >= settings_.coldCycles + settings_.thenSwapAfter)
            appendPages(plan.swap, address);
    }
    std::lock_guard lock(mutex_);
    for (const auto& [node, pages] : perNode) pagesPerNode_[node] += pages;
}

// What promotion may take of the fast node now, shared by the task's targets.
std::vector<PageRange> Tiering::takeRoom(std::vector<PageRange> ranges) {
    std::lock_guard lock(mutex_);
    std::uint64_t pages = 0;
    for (const auto& range : ranges) pages += range.pages();
    const std::uint64_t taken = std::min(pages, roomPages_);
    roomPages_ -= taken;
    return firstPages(std::move(ranges), taken);
}

movers::Mover& Tiering::moverTo(int node) {
    std::lock_guard lock(mutex_);
    auto& mover = movers_[node];
    if (!mover) {
        movers::MoverConfig config;
        config.destination = movers::Destination::numaNode(node);
        config.paths = settings_.paths;
        config.pageNodesOverride = settings_.pageNodes;
        std::string why;
        mover = movers::makeMover(config, {}, why);
        if (!mover) throw BackendUnavailable(why);
    }
    return *mover;
}

// Moves ranges to node in one direction, paced by its bucket, and counts what the kernel
// then shows there.
std::uint64_t Tiering::migrate(TargetState& state, Direction& direction, int node,
                               std::vector<PageRange> ranges, std::stop_token stop) {
    if (ranges.empty()) return 0;
    movers::Mover& mover = moverTo(node);
    const movers::MoveTarget target{state.target, state.pagemap.get()};
    std::lock_guard lock(direction.mutex);
    std::uint64_t confirmed = 0;
    if (direction.pacer) {
        PacedSwapIo io;
        io.swap = [&](std::span<const PageRange> batch) { mover.move(target, batch, stop); };
        io.confirm = [&](std::span<const PageRange> batch) {
            return mover.confirm(target, batch, stop);
        };
        io.pressure = [&] {
            return readPressure(pressureFileFor(
                state.target.cgroup, settings_.paths.sys / "fs" / "cgroup", settings_.paths.proc));
        };
        io.sleep = sleepUnlessStopped;
        io.now = [] { return Pacer::Clock::now(); };
        PacingState pacing;
        confirmed = swapOutPaced(*direction.pacer, ranges, deadline_, io, stop, pacing);
    } else {
        for (const auto& call : inCalls(ranges)) {
            if (stop.stop_requested()) break;
            mover.move(target, call, stop);
        }
        confirmed = mover.confirm(target, ranges, stop);
    }
    pageErrors_ += mover.takePageErrors();
    direction.pages += confirmed;
    return confirmed;
}

// The chain's last step: pages cold long enough on the slow node go to swap, paced as the
// task's swap-out is.
std::uint64_t Tiering::swapOut(TargetState& state, const std::vector<PageRange>& ranges,
                               std::stop_token stop) {
    if (ranges.empty() || !swapMover_) return 0;
    if (swapPacing_.active()) return swapPacing_.move(state, *swapMover_, ranges, stop);
    const movers::MoveTarget target{state.target, state.pagemap.get()};
    for (const auto& call : inCalls(ranges)) {
        if (stop.stop_requested()) break;
        swapMover_->move(target, call, stop);
    }
    return swapMover_->confirm(target, ranges, stop);
}

void Tiering::end(CycleReport& report) {
    const std::uint64_t demoted = demotion_.pages, promoted = promotion_.pages;
    report.extra.setCount(tier_figure::kPagesDemoted, demoted, true);
    report.extra.setCount(tier_figure::kPagesPromoted, promoted, true);
    for (const auto& node : tiers_.nodes) {
        if (!node.hasMemory) continue;
        auto found = pagesPerNode_.find(node.id);
        report.extra.setCount(tier_figure::pagesOnNode(node.id),
                              found == pagesPerNode_.end() ? 0 : found->second);
    }
    const double seconds = std::chrono::duration<double>(Pacer::Clock::now() - started_).count();
    const std::uint64_t bytes = (demoted + promoted) * kPageSize;
    report.extra.setCount(tier_figure::kMigrateRate,
                          seconds > 0 ? static_cast<std::uint64_t>(bytes / seconds) : 0);
    report.extra.setCount(tier_figure::kPageErrors, pageErrors_, true);
}

}  // namespace etmem::slide
