// SPDX-License-Identifier: MulanPSL-2.0
// Movers: the registry by destination, and the swap mover's wrapping of a swap backend and its
// confirmation from pagemap.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

#include "etmem/movers/mover.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::movers {
namespace {

class CountingSwapper final : public backends::Swapper {
  public:
    std::string_view name() const override { return "counting"; }
    std::uint64_t swapOut(const Target&, std::span<const PageRange> ranges,
                          std::stop_token) override {
        ++calls;
        std::uint64_t bytes = 0;
        for (const auto& range : ranges) bytes += range.end - range.start;
        return bytes;
    }
    int calls = 0;
};

MoverConfig swapConfig(std::shared_ptr<backends::Swapper> swapper, bool swapActive) {
    MoverConfig config;
    config.swapperOverride = std::move(swapper);
    config.swapActiveOverride = swapActive;
    return config;
}

TEST(Destination, NamesItself) {
    EXPECT_EQ(Destination::swap().describe(), "swap");
    EXPECT_EQ(Destination::numaNode(1).describe(), "node 1");
    EXPECT_EQ(Destination{}, Destination::swap());
}

TEST(Movers, ANodeHasTheNodeMover) {
    MoverConfig config;
    config.destination = Destination::numaNode(1);
    std::string why;
    auto mover = makeMover(config, {}, why);
    ASSERT_NE(mover, nullptr) << why;
    EXPECT_EQ(mover->name(), "move_pages");
    EXPECT_EQ(mover->destination(), Destination::numaNode(1));
}

TEST(Movers, SwapWithoutABackendSaysWhy) {
    MoverConfig config;
    config.swapper = backends::parseSwapperChoice("swap_pages");
    std::string why;
    EXPECT_EQ(makeMover(config, {}, why), nullptr);
    EXPECT_FALSE(why.empty());
}

TEST(SwapMover, WrapsItsBackend) {
    auto swapper = std::make_shared<CountingSwapper>();
    std::string why;
    auto mover = makeMover(swapConfig(swapper, true), {}, why);
    ASSERT_NE(mover, nullptr) << why;
    EXPECT_EQ(mover->name(), "counting");
    EXPECT_EQ(mover->destination(), Destination::swap());
    EXPECT_EQ(mover->unavailable(), "");
    Target self;
    self.pid = ::getpid();
    const PageRange ranges[] = {{0x10000, 0x12000}, {0x20000, 0x21000}};
    EXPECT_EQ(mover->move({self, -1}, ranges, {}), 3 * kernel::kPageSize);
    EXPECT_EQ(swapper->calls, 1);
}

TEST(SwapMover, SaysWhenNoSwapIsActive) {
    std::string why;
    auto mover = makeMover(swapConfig(std::make_shared<CountingSwapper>(), false), {}, why);
    ASSERT_NE(mover, nullptr);
    EXPECT_EQ(mover->unavailable(),
              "no swap device is active: cold pages cannot be swapped out; turn on a swap "
              "device (zram or a swap partition/file, see swapon(8))");
}

TEST(SwapMover, ConfirmsFromPagemap) {
    // Resident pages of our own: none reads as swapped.
    const std::size_t pages = 4;
    void* memory = ::mmap(nullptr, pages * kernel::kPageSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(memory, MAP_FAILED);
    std::fill_n(static_cast<char*>(memory), pages * kernel::kPageSize, 1);
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(pagemap);
    std::string why;
    auto mover = makeMover(swapConfig(std::make_shared<CountingSwapper>(), true), {}, why);
    ASSERT_NE(mover, nullptr);
    Target self;
    self.pid = ::getpid();
    const auto start = reinterpret_cast<std::uint64_t>(memory);
    const PageRange ranges[] = {{start, start + pages * kernel::kPageSize}};
    EXPECT_EQ(mover->confirm({self, pagemap.get()}, ranges, {}), 0u);
    ::munmap(memory, pages * kernel::kPageSize);
}

}  // namespace
}  // namespace etmem::movers
