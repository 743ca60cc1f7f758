// SPDX-License-Identifier: MulanPSL-2.0
// The node mover: takes pages to a NUMA node with move_pages(2) (node_pages.hpp: bounded
// calls, the target re-checked by pidfd around each) and confirms with move_pages asked
// where the pages are: a page moved when the kernel reports it on the destination node.
// Only the target's own pages move (MPOL_MF_MOVE) unless the config asks for shared ones
// too (MPOL_MF_MOVE_ALL). Pages the kernel refuses one by one are counted, not fatal.
//
// How it stops: between calls of at most kMaxPagesPerMoveCall pages.
#include <linux/mempolicy.h>

#include <fmt/format.h>

#include <atomic>
#include <vector>

#include "etmem/kernel/memory_tiers.hpp"
#include "movers/movers.hpp"

namespace etmem::movers {
namespace {

constexpr int kMoveOwnPages = MPOL_MF_MOVE;
constexpr int kMoveAllPages = MPOL_MF_MOVE_ALL;

std::vector<std::uint64_t> pagesOf(std::span<const PageRange> ranges) {
    std::vector<std::uint64_t> pages;
    for (const auto& range : ranges)
        for (std::uint64_t at = range.start; at < range.end; at += kernel::kPageSize)
            pages.push_back(at);
    return pages;
}

class NodeMover final : public Mover {
  public:
    NodeMover(std::shared_ptr<PageNodes> kernel, const MoverConfig& config)
        : kernel_(std::move(kernel)),
          destination_(config.destination),
          paths_(config.paths),
          flags_(config.moveShared ? kMoveAllPages : kMoveOwnPages) {}

    std::string_view name() const override { return "move_pages"; }
    const Destination& destination() const override { return destination_; }

    std::string unavailable() const override {
        const auto tiers = kernel::discoverMemoryTiers(paths_);
        const kernel::MemoryNode* node = tiers.find(destination_.node);
        if (node == nullptr)
            return fmt::format("node {} is not online; this machine's nodes: {}", destination_.node,
                               tiers.describe());
        if (!node->hasMemory)
            return fmt::format("node {} has no memory online; this machine's nodes: {}",
                               destination_.node, tiers.describe());
        return "";
    }

    std::uint64_t move(const MoveTarget& target, std::span<const PageRange> ranges,
                       std::stop_token stop) override {
        const auto pages = pagesOf(ranges);
        std::vector<int> status(pages.size());
        const NodeOutcome outcome =
            movePagesTo(*kernel_, target.target, pages, destination_.node, flags_, status, stop);
        pageErrors_ += outcome.pageErrors;
        std::uint64_t accepted = 0;
        for (int node : status) accepted += node >= 0 ? 1 : 0;
        return accepted * kernel::kPageSize;
    }

    std::uint64_t confirm(const MoveTarget& target, std::span<const PageRange> ranges,
                          std::stop_token stop) override {
        const auto pages = pagesOf(ranges);
        std::vector<int> status(pages.size());
        queryNodes(*kernel_, target.target, pages, status, stop);
        std::uint64_t there = 0;
        for (int node : status) there += node == destination_.node ? 1 : 0;
        return there;
    }

    std::uint64_t takePageErrors() override { return pageErrors_.exchange(0); }

  private:
    std::shared_ptr<PageNodes> kernel_;
    Destination destination_;
    kernel::KernelPaths paths_;
    int flags_;
    std::atomic<std::uint64_t> pageErrors_{0};
};

}  // namespace

std::unique_ptr<Mover> makeNodeMover(const MoverConfig& config, const backends::BackendProbe&,
                                     std::string& why) {
    if (config.destination.node < 0) {
        why = "a node mover needs a node number";
        return nullptr;
    }
    auto kernel = config.pageNodesOverride ? config.pageNodesOverride : kernelPageNodes();
    return std::make_unique<NodeMover>(std::move(kernel), config);
}

}  // namespace etmem::movers
