// SPDX-License-Identifier: MulanPSL-2.0
// etmem's memory tiering on a guest with two memory nodes (tests/vm/etmem-vm-run --topology
// tiered: node 0 with the CPUs, node 1 CPU-less and slower by HMAT, in a lower kernel tier).
// Placement is judged by asking the kernel where each of the workload's pages is (move_pages
// with no target nodes), never by what etmem reports; values by the workload's own checksums.
// Each test prints FIGURE lines. Outside such a guest the tests are skipped; inside one
// (ETMEM_VM_TOPOLOGY=tiered) a missing tier is a failure.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/memory_tiers.hpp"
#include "etmem/movers/mover.hpp"
#include "guest_numa.hpp"
#include "workload_client.hpp"

using namespace etmem;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kFastNode = 0;
constexpr int kSlowNode = 1;

bool tieredGuestPromised() {
    const char* topology = std::getenv("ETMEM_VM_TOPOLOGY");
    return topology != nullptr && std::string(topology) == "tiered";
}

#define REQUIRE_TIERS()                                                                         \
    do {                                                                                        \
        auto tiers = kernel::discoverMemoryTiers({});                                           \
        bool present = tiers.kernelTiers && tiers.slower(kSlowNode, kFastNode);                 \
        if (!present && tieredGuestPromised())                                                  \
            FAIL() << "booted tiered, but the kernel shows: " << tiers.describe();              \
        if (!present) GTEST_SKIP() << "no slower node 1 here (etmem-vm-run --topology tiered)"; \
    } while (false)

std::string workloadPath() {
    const char* path = std::getenv("ETMEM_WORKLOAD");
    return path ? path : "etmem-workload";
}

class Workload : public test::WorkloadProcess {
  public:
    Workload(std::size_t hot, std::size_t cold) : WorkloadProcess(options(hot, cold)) {}

  private:
    static test::WorkloadOptions options(std::size_t hot, std::size_t cold) {
        test::WorkloadOptions options;
        options.program = workloadPath();
        options.hotPages = hot;
        options.coldPages = cold;
        options.seed = 11;
        return options;
    }
};

// Where the workload's hot and cold pages are, by asking the kernel.
struct Placement {
    std::size_t hot = 0, hotOnFast = 0, cold = 0, coldOnSlow = 0;
    double hotFast() const { return hot ? double(hotOnFast) / double(hot) : 1; }
    double coldSlow() const { return cold ? double(coldOnSlow) / double(cold) : 1; }
};
Placement placementOf(const Workload& workload) {
    auto nodes = vm::pageNodes(workload.pid(), workload.base, workload.pages);
    Placement placement;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (workload.isHot(i)) {
            ++placement.hot;
            placement.hotOnFast += nodes[i] == kFastNode;
        } else {
            ++placement.cold;
            placement.coldOnSlow += nodes[i] == kSlowNode;
        }
    }
    std::printf("FIGURE placement hot_on_node0=%.2f%% cold_on_node1=%.2f%% (%zu hot, %zu cold)\n",
                100 * placement.hotFast(), 100 * placement.coldSlow(), placement.hot,
                placement.cold);
    return placement;
}

// The workload's cold pages as ranges (runs of consecutive cold pages).
std::vector<kernel::PageRange> coldRanges(const Workload& workload) {
    std::vector<kernel::PageRange> ranges;
    for (std::size_t i = 0; i < workload.pages; ++i) {
        if (workload.isHot(i)) continue;
        std::uint64_t at = workload.base + i * kernel::kPageSize;
        if (!ranges.empty() && ranges.back().end == at)
            ranges.back().end += kernel::kPageSize;
        else
            ranges.push_back({at, at + kernel::kPageSize});
    }
    return ranges;
}

std::unique_ptr<movers::Mover> nodeMover(int node) {
    movers::MoverConfig config;
    config.destination = movers::Destination::numaNode(node);
    std::string why;
    auto mover = movers::makeMover(config, backends::probeBackends(), why);
    EXPECT_NE(mover, nullptr) << why;
    return mover;
}

}  // namespace

TEST(TiersNodeMover, ColdPagesGoToTheSlowNodeAndTheKernelConfirmsThem) {
    REQUIRE_TIERS();
    Workload workload(512, 8192);
    auto mover = nodeMover(kSlowNode);
    ASSERT_NE(mover, nullptr);
    ASSERT_EQ(mover->unavailable(), "");
    auto target = workload.target();
    movers::MoveTarget moveTarget{target, -1};
    auto ranges = coldRanges(workload);
    mover->move(moveTarget, ranges, std::stop_token{});
    std::uint64_t confirmed = mover->confirm(moveTarget, ranges, std::stop_token{});
    auto placement = placementOf(workload);
    EXPECT_GE(placement.coldSlow(), 0.99);
    EXPECT_GE(placement.hotFast(), 0.99) << "the mover moved pages it was not given";
    EXPECT_EQ(confirmed, placement.coldOnSlow) << "the mover's count differs from the kernel's";
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}

// The mover checks its stop token between calls of at most kMaxPagesPerMoveCall pages: a stop
// in the middle of moving 256 MiB ends the move within about 100 ms.
TEST(TiersNodeMover, AStopMidMigrationEndsTheMoveWithin100Ms) {
    REQUIRE_TIERS();
    Workload workload(0, 65536);
    auto mover = nodeMover(kSlowNode);
    ASSERT_NE(mover, nullptr);
    auto target = workload.target();
    movers::MoveTarget moveTarget{target, -1};
    std::vector<kernel::PageRange> all{
        {workload.base, workload.base + workload.pages * kernel::kPageSize}};
    std::stop_source stop;
    Clock::time_point returned;
    auto started = Clock::now();
    std::thread moving([&] {
        mover->move(moveTarget, all, stop.get_token());
        returned = Clock::now();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto requested = Clock::now();
    stop.request_stop();
    moving.join();
    auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(returned - requested);
    auto moved = vm::pageNodes(workload.pid(), workload.base, workload.pages);
    auto onSlow = std::count(moved.begin(), moved.end(), kSlowNode);
    std::printf(
        "FIGURE stop_latency_ms=%lld pages_moved_before_stop=%lld of %zu (%lld ms moving)\n",
        static_cast<long long>(latency.count()), static_cast<long long>(onSlow), workload.pages,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(requested - started).count()));
    EXPECT_LT(static_cast<std::size_t>(onSlow), workload.pages) << "finished before the stop";
    EXPECT_LE(latency.count(), 100);
    EXPECT_EQ(workload.stop(), 0) << "a value changed";
}
