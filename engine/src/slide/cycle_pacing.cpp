// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/cycle_pacing.hpp"

namespace etmem::slide {

using namespace etmem::kernel;

CyclePacing::CyclePacing(const ProjectConfig& project, const TaskConfig& task, KernelPaths paths)
    : paths_(std::move(paths)) {
    if (PacingLimits limits{task.slide.maxSwapRate, task.slide.pressureLimit}; limits.active()) {
        pacer_.emplace(limits);
        window_ = std::chrono::seconds(project.interval);
    }
}

std::filesystem::path CyclePacing::pressureFile(const Target& target) const {
    return pressureFileFor(target.cgroup, paths_.sys / "fs" / "cgroup", paths_.proc);
}

bool CyclePacing::pausesCycle(const Target* first) {
    pausedBeforeScan_ = false;
    if (!pacer_ || pacer_->limits().pressureLimit == 0 || !first) return false;
    pacer_->updatePressure(readPressure(pressureFile(*first)));
    if (!pacer_->paused()) return false;
    cycle_ = pausedBeforeScan(*pacer_);
    pausedBeforeScan_ = true;
    return true;
}

void CyclePacing::begin(const Target* first) {
    if (!pacer_ || pausedBeforeScan_) return;
    cycle_ = {};
    const auto now = Pacer::Clock::now();
    std::optional<double> pressure;
    if (pacer_->limits().pressureLimit != 0 && first) pressure = readPressure(pressureFile(*first));
    pacer_->begin(pressure, now);
    deadline_ = now + window_;
}

void CyclePacing::end(CycleReport& cycle, Logger& logger, const LogContext& log) {
    if (!pacer_) return;
    if (auto change = pacingChange(lastCycle_, cycle_, cycle.pagesSwapped > 0))
        logger.log(LogLevel::Info, log, *change);
    lastCycle_ = cycle_;
    cycle.pacing = {cycle_.paced, cycle_.paused, cycle_.reason, cycle_.rate,
                    cycle_.pressure.value_or(-1)};
}

std::uint64_t CyclePacing::move(TargetState& state, movers::Mover& mover,
                                const std::vector<PageRange>& cold, std::stop_token stop) {
    const movers::MoveTarget target{state.target, state.pagemap.get()};
    std::lock_guard lock(pacerMutex_);
    PacedSwapIo io;
    io.swap = [&](std::span<const PageRange> batch) { mover.move(target, batch, stop); };
    io.confirm = [&](std::span<const PageRange> batch) {
        return mover.confirm(target, batch, stop);
    };
    io.pressure = [&] { return readPressure(pressureFile(state.target)); };
    io.sleep = sleepUnlessStopped;
    io.now = [] { return Pacer::Clock::now(); };
    PacingState pacing;
    std::uint64_t confirmed = swapOutPaced(*pacer_, cold, deadline_, io, stop, pacing);
    mergePacing(cycle_, pacing);
    return confirmed;
}

}  // namespace etmem::slide
