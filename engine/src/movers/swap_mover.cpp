// SPDX-License-Identifier: MulanPSL-2.0
// The swap mover: takes pages out to the active swap devices through a swap backend
// (process_madvise(MADV_PAGEOUT) or openEuler's /proc/PID/swap_pages, swappers.cpp) and
// confirms from pagemap: a page moved when its entry reads "swapped" (bit 62). What the
// backend says it accepted is only logged.
//
// How it stops: the backend checks the stop token between its calls; confirmation reads
// pagemap in chunks of kPagemapChunkEntries entries and stops between them.
#include <utility>

#include "etmem/kernel/pagemap.hpp"
#include "etmem/kernel/swap.hpp"
#include "movers/movers.hpp"

namespace etmem::movers {
namespace {

class SwapMover final : public Mover {
  public:
    SwapMover(std::shared_ptr<backends::Swapper> swapper, const MoverConfig& config)
        : swapper_(std::move(swapper)),
          paths_(config.paths),
          swapActiveOverride_(config.swapActiveOverride) {}

    std::string_view name() const override { return swapper_->name(); }
    const Destination& destination() const override { return destination_; }

    std::string unavailable() const override {
        if (swapActiveOverride_.value_or(kernel::swapIsActive(paths_.proc))) return "";
        return std::string(kernel::kNoActiveSwap);
    }

    std::uint64_t move(const MoveTarget& target, std::span<const PageRange> ranges,
                       std::stop_token stop) override {
        return swapper_->swapOut(target.target, ranges, stop);
    }

    std::uint64_t confirm(const MoveTarget& target, std::span<const PageRange> ranges,
                          std::stop_token stop) override {
        std::uint64_t swapped = 0;
        std::vector<kernel::PagemapEntry> buffer;
        for (const auto& range : ranges) {
            bool complete = kernel::readPagemap(
                target.pagemapFd, range, stop,
                [&](std::uint64_t, std::span<const kernel::PagemapEntry> entries) {
                    for (const auto& entry : entries) swapped += entry.swapped() ? 1 : 0;
                },
                buffer);
            if (!complete) break;
        }
        return swapped;
    }

  private:
    std::shared_ptr<backends::Swapper> swapper_;
    kernel::KernelPaths paths_;
    std::optional<bool> swapActiveOverride_;
    Destination destination_ = Destination::swap();
};

}  // namespace

std::unique_ptr<Mover> makeSwapMover(const MoverConfig& config, const backends::BackendProbe& probe,
                                     std::string& why) {
    std::shared_ptr<backends::Swapper> swapper = config.swapperOverride;
    // A swap backend reads only where the kernel's files are; it has no project keys.
    static const ProjectConfig kNoProjectKeys{};
    const backends::BackendSettings settings{config.paths, false, kNoProjectKeys};
    if (!swapper) swapper = backends::makeSwapper(config.swapper, probe, settings, why);
    if (!swapper) return nullptr;
    return std::make_unique<SwapMover>(std::move(swapper), config);
}

}  // namespace etmem::movers
