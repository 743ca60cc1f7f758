// SPDX-License-Identifier: MulanPSL-2.0
// The node mover: bounded move_pages batches, confirmation by asking the kernel where the
// pages are, per-page errors counted; against a fake move_pages and, for node 0 (which every
// host has), the real one.
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <set>

#include <fmt/format.h>
#include <vector>

#include "etmem/kernel/errors.hpp"
#include "etmem/kernel/memory_tiers.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/movers/node_pages.hpp"

namespace etmem::movers {
namespace {

using kernel::kPageSize;

// move_pages over a map of address -> node; pages it does not know are not present.
class FakePageNodes final : public PageNodes {
  public:
    long movePages(pid_t, std::span<void*> pages, const int* nodes, std::span<int> status,
                   int flags) override {
        batches.push_back(pages.size());
        lastFlags = flags;
        for (std::size_t i = 0; i < pages.size(); ++i) {
            const auto address = reinterpret_cast<std::uint64_t>(pages[i]);
            auto found = where.find(address);
            if (found == where.end()) {
                status[i] = -ENOENT;
            } else if (busy.contains(address) && nodes != nullptr) {
                status[i] = -EBUSY;
            } else {
                if (nodes != nullptr) found->second = nodes[i];
                status[i] = found->second;
            }
        }
        return 0;
    }
    std::map<std::uint64_t, int> where;
    std::set<std::uint64_t> busy;
    std::vector<std::size_t> batches;
    int lastFlags = 0;
};

Target self() {
    Target target;
    target.pid = ::getpid();
    target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    return target;
}

std::unique_ptr<Mover> nodeMover(std::shared_ptr<PageNodes> kernel, int node,
                                 bool moveShared = false) {
    MoverConfig config;
    config.destination = Destination::numaNode(node);
    config.pageNodesOverride = std::move(kernel);
    config.moveShared = moveShared;
    std::string why;
    auto mover = makeMover(config, {}, why);
    EXPECT_NE(mover, nullptr) << why;
    return mover;
}

TEST(NodeMover, MovesInBoundedBatchesAndConfirms) {
    auto fake = std::make_shared<FakePageNodes>();
    constexpr std::uint64_t kBase = 0x7f0000000000, kPages = 600;
    for (std::uint64_t i = 0; i < kPages; ++i) fake->where[kBase + i * kPageSize] = 0;
    fake->busy.insert(kBase + 5 * kPageSize);
    auto mover = nodeMover(fake, 1);
    const Target target = self();
    const PageRange range{kBase, kBase + kPages * kPageSize};
    EXPECT_EQ(mover->move({target}, {&range, 1}, {}), (kPages - 1) * kPageSize);
    EXPECT_EQ(fake->batches, (std::vector<std::size_t>{256, 256, 88}));
    EXPECT_EQ(fake->lastFlags, MPOL_MF_MOVE);
    EXPECT_EQ(mover->takePageErrors(), 1u);
    EXPECT_EQ(mover->takePageErrors(), 0u);
    EXPECT_EQ(mover->confirm({target}, {&range, 1}, {}), kPages - 1);
    EXPECT_EQ(fake->where[kBase + 5 * kPageSize], 0);
}

TEST(NodeMover, SharedPagesOnlyWhenAsked) {
    auto fake = std::make_shared<FakePageNodes>();
    fake->where[0x1000] = 0;
    auto mover = nodeMover(fake, 1, true);
    const Target target = self();
    const PageRange range{0x1000, 0x2000};
    mover->move({target}, {&range, 1}, {});
    EXPECT_EQ(fake->lastFlags, MPOL_MF_MOVE_ALL);
}

TEST(NodeMover, StopsBetweenBatches) {
    auto fake = std::make_shared<FakePageNodes>();
    auto mover = nodeMover(fake, 1);
    std::stop_source stop;
    stop.request_stop();
    const Target target = self();
    const PageRange range{0x100000, 0x100000 + 1024 * kPageSize};
    EXPECT_EQ(mover->move({target}, {&range, 1}, stop.get_token()), 0u);
    EXPECT_TRUE(fake->batches.empty());
}

TEST(NodeMover, AnExitedTargetIsGone) {
    auto fake = std::make_shared<FakePageNodes>();
    auto mover = nodeMover(fake, 1);
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    Target target;
    target.pid = child;
    target.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    int status = 0;
    ::waitpid(child, &status, 0);
    const PageRange range{0x1000, 0x2000};
    EXPECT_THROW(mover->move({target}, {&range, 1}, {}), kernel::TargetGone);
    EXPECT_TRUE(fake->batches.empty());
}

// The real move_pages, to node 0 (every NUMA host has it): our own pages, several batches.
TEST(NodeMoverHost, MovesOwnPagesToNodeZero) {
    const auto tiers = kernel::discoverMemoryTiers({});
    const kernel::MemoryNode* zero = tiers.find(0);
    if (zero == nullptr || !zero->hasMemory) GTEST_SKIP() << "no NUMA node 0 with memory";
    constexpr std::size_t kPages = 700;
    void* memory = ::mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(memory, MAP_FAILED);
    auto* bytes = static_cast<unsigned char*>(memory);
    for (std::size_t i = 0; i < kPages; ++i) bytes[i * kPageSize] = static_cast<unsigned char>(i);
    MoverConfig config;
    config.destination = Destination::numaNode(0);
    std::string why;
    auto mover = makeMover(config, {}, why);
    ASSERT_NE(mover, nullptr) << why;
    EXPECT_EQ(mover->unavailable(), "");
    const Target target = self();
    const auto start = reinterpret_cast<std::uint64_t>(memory);
    const PageRange range{start, start + kPages * kPageSize};
    EXPECT_EQ(mover->move({target}, {&range, 1}, {}), kPages * kPageSize);
    EXPECT_EQ(mover->confirm({target}, {&range, 1}, {}), kPages);
    EXPECT_EQ(mover->takePageErrors(), 0u);
    for (std::size_t i = 0; i < kPages; ++i)
        ASSERT_EQ(bytes[i * kPageSize], static_cast<unsigned char>(i));
    ::munmap(memory, kPages * kPageSize);
}

// A single-node host has no slower node: the mover says so before anything moves, and a
// move anyway is a clear error, not a crash.
TEST(NodeMoverHost, AMissingNodeIsAClearError) {
    const auto tiers = kernel::discoverMemoryTiers({});
    if (tiers.nodes.empty()) GTEST_SKIP() << "this kernel shows no NUMA nodes";
    int missing = 0;
    while (tiers.find(missing) != nullptr) ++missing;
    MoverConfig config;
    config.destination = Destination::numaNode(missing);
    std::string why;
    auto mover = makeMover(config, {}, why);
    ASSERT_NE(mover, nullptr) << why;
    const std::string problem = mover->unavailable();
    EXPECT_NE(
        problem.find(fmt::format("node {} is not online; this machine's nodes: 0 (", missing)),
        std::string::npos)
        << problem;
    std::vector<unsigned char> page(kPageSize * 2, 1);
    const auto start =
        (reinterpret_cast<std::uint64_t>(page.data()) + kPageSize - 1) / kPageSize * kPageSize;
    const PageRange range{start, start + kPageSize};
    const Target target = self();
    EXPECT_THROW(mover->move({target}, {&range, 1}, {}), kernel::BackendUnavailable);
}

}  // namespace
}  // namespace etmem::movers
