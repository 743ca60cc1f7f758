// SPDX-License-Identifier: MulanPSL-2.0
// The swap_pages swapper: openEuler's /proc/PID/swap_pages (etmem_swap module).
#include <fcntl.h>

#include <filesystem>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::backends {

using namespace etmem::kernel;
namespace {

// openEuler's /proc/PID/swap_pages: one hex address per page, 200 lines per write.
class SwapPagesSwapper final : public Swapper {
  public:
    explicit SwapPagesSwapper(KernelPaths paths) : paths_(std::move(paths)) {}
    std::string_view name() const override { return "swap_pages"; }

    std::uint64_t swapOut(const Target& target, std::span<const PageRange> ranges,
                          std::stop_token stop) override {
        UniqueFd file(openTargetFile(target, paths_.proc, "swap_pages", O_WRONLY));
        std::vector<std::uint64_t> addresses;
        std::uint64_t accepted = 0;
        auto send = [&] {
            accepted += writeSwapPages(file.get(), addresses) * kPageSize;
            addresses.clear();
        };
        for (const auto& range : ranges) {
            for (std::uint64_t address = range.start; address < range.end; address += kPageSize) {
                addresses.push_back(address);
                if (addresses.size() == 64 * kSwapPagesBatch) {
                    if (stop.stop_requested()) return accepted;
                    send();
                }
            }
        }
        send();
        return accepted;
    }

  private:
    KernelPaths paths_;
};

}  // namespace

std::string probeSwapPagesSwapper(const KernelPaths& paths) {
    if (std::filesystem::exists(paths.proc / "self/swap_pages")) return "";
    return "/proc/PID/swap_pages is not available (openEuler etmem_swap module not loaded): "
           "the swap_pages swapper is not available";
}

std::unique_ptr<Swapper> makeSwapPagesSwapper(const BackendSettings& settings) {
    return std::make_unique<SwapPagesSwapper>(settings.paths);
}

}  // namespace etmem::backends
