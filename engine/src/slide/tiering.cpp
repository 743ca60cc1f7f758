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
    settings.pairs = task.slide.nodePairs;
    settings.threshold = task.slide.T;
    settings.coldCycles = std::max(1u, task.slide.coldCycles);
    settings.thenSwapAfter = task.slide.thenSwapAfter;
    settings.hotReserveBytes = task.slide.hotReserveBytes;
    settings.hotReservePercent = task.slide.hotReservePercent;
    settings.migrateLimits = {task.slide.maxMigrateRate, task.slide.pressureLimit};
    settings.window = std::chrono::seconds(std::max(1u, project.interval));
    if (task.slide.migrateQuotaMiB == 0) settings.migrate = false;
    if (task.slide.migrateQuotaMiB > 0)  // 1.1's quota per cycle as a rate over the window
        settings.migrateLimits.maxSwapRate = std::max<std::uint64_t>(
            kPageSize, (static_cast<std::uint64_t>(task.slide.migrateQuotaMiB) << 20) /
                           static_cast<std::uint64_t>(settings.window.count()));
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
    demoteTo_.clear();
    promoteTo_.clear();
    chainFrom_.clear();
    roomPages_.clear();
    if (settings_.pairs.empty()) {
        if (auto problem = coldNodeProblem(tiers_, settings_.coldNode, "cold_destination");
            !problem.empty()) {
            errors_.add(std::move(problem));
            return false;
        }
        routeColdNode(*tiers_.find(settings_.coldNode));
    } else if (!routePairs()) {
        return false;
    }
    maySwap_ = false;
    if (settings_.thenSwapAfter != 0) {
        std::string why = swapMover_ ? swapMover_->unavailable() : swapWhy_;
        if (why.empty())
            maySwap_ = true;
        else
            errors_.add(fmt::format("then_swap_after: pages stay on the slower node: {}", why));
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

// cold_destination: cold pages on any faster node go to the cold node; hot pages on a
// node slower than the fastest node with room above its reserve go there.
void Tiering::routeColdNode(const MemoryNode& cold) {
    for (const MemoryNode* node : tiers_.fastestFirst()) {
        if (node->rank < cold.rank) demoteTo_[node->id] = cold.id;
        if (node->rank >= cold.rank) chainFrom_.insert(node->id);
    }
    for (const MemoryNode* fast : tiers_.fastestFirst()) {
        if (fast->rank >= cold.rank) break;
        addRoom(*fast);
        if (roomPages_[fast->id] == 0) continue;
        for (const MemoryNode* node : tiers_.fastestFirst())
            if (node->rank > fast->rank) promoteTo_[node->id] = fast->id;
        break;
    }
}

// node_pair: each pair's cold pages go from its hot node to its cold node, and back when hot.
bool Tiering::routePairs() {
    for (const auto& [hot, cold] : settings_.pairs) {
        if (auto problem = nodePairProblem(tiers_, hot, cold, "node_pair"); !problem.empty()) {
            errors_.add(std::move(problem));
            return false;
        }
        demoteTo_[hot] = cold;
        promoteTo_[cold] = hot;
        chainFrom_.insert(cold);
        addRoom(*tiers_.find(hot));
    }
    return true;
}

// Room for promotion on a node: its free memory above node_hot_reserve.
void Tiering::addRoom(const MemoryNode& node) {
    const std::uint64_t reserve = settings_.hotReservePercent != 0
                                      ? node.totalBytes / 100 * settings_.hotReservePercent
                                      : settings_.hotReserveBytes;
    roomPages_[node.id] = node.freeBytes > reserve ? (node.freeBytes - reserve) / kPageSize : 0;
}

int Tiering::route(const std::map<int, int>& routes, int node) const {
    auto found = routes.find(node);
    return found == routes.end() ? -1 : found->second;
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
    if (!settings_.migrate) {  // node_mig_quota 0: only where the pages are
        plan.demote.clear();
        plan.promote.clear();
    }
    for (auto& [from, ranges] : plan.demote) {
        const int to = route(demoteTo_, from);
        moved(plan, from, to, migrate(state, demotion_, to, std::move(ranges), stop));
    }
    for (auto& [from, ranges] : plan.promote) {
        const int to = route(promoteTo_, from);
        moved(plan, from, to,
              migrate(state, promotion_, to, takeRoom(to, std::move(ranges)), stop));
    }
    std::uint64_t swapped = 0;
    for (auto& [from, ranges] : plan.swap) {
        const std::uint64_t pages = swapOut(state, ranges, stop);
        moved(plan, from, -1, pages);
        swapped += pages;
    }
    std::lock_guard lock(mutex_);
    for (const auto& [node, pages] : plan.perNode) pagesPerNode_[node] += pages;
    return swapped;
}

// The pages per node after a move (to -1: swap).
void Tiering::moved(Plan& plan, int from, int to, std::uint64_t pages) {
    auto& source = plan.perNode[from];
    source -= std::min(source, pages);
    if (to >= 0) plan.perNode[to] += pages;
}

// Where each page is, and what should happen to it.
void Tiering::sortPages(TargetState& state, std::span<const std::uint64_t> addresses, Plan& plan,
                        std::stop_token stop) {
    if (addresses.empty()) return;
    std::vector<int> status(addresses.size());
    pageErrors_ +=
        movers::queryNodes(*settings_.pageNodes, state.target, addresses, status, stop).pageErrors;
    const bool keepsStreaks = settings_.coldCycles > 1 || settings_.thenSwapAfter != 0;
    for (std::size_t i = 0; i < addresses.size(); ++i) {
        const int node = status[i];
        if (node < 0 || tiers_.find(node) == nullptr) continue;
        plan.perNode[node]++;
        const std::uint64_t address = addresses[i];
        if (isHot(state.counts.countAt(address), settings_.threshold)) {
            if (route(promoteTo_, node) >= 0) appendPages(plan.promote[node], address);
            continue;
        }
        const unsigned streak = keepsStreaks ? state.streaks.countAt(address) : 1;
        if (streak < settings_.coldCycles) continue;
        if (route(demoteTo_, node) >= 0)
            appendPages(plan.demote[node], address);
        else if (maySwap_ && chainFrom_.contains(node) &&
                 streak >= settings_.coldCycles + settings_.thenSwapAfter)
            appendPages(plan.swap[node], address);
    }
}

// What promotion may take of the fast node now, shared by the task's targets.
std::vector<PageRange> Tiering::takeRoom(int node, std::vector<PageRange> ranges) {
    std::lock_guard lock(mutex_);
    std::uint64_t pages = 0;
    for (const auto& range : ranges) pages += range.pages();
    std::uint64_t& room = roomPages_[node];
    const std::uint64_t taken = std::min(pages, room);
    room -= taken;
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
