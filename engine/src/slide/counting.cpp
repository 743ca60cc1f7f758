// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/counting.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "etmem/kernel/files.hpp"
#include "etmem/slide/slide_engine.hpp"

namespace etmem::slide {

using namespace etmem::backends;
using namespace etmem::kernel;

std::uint8_t weightOf(PageAccess access) {
    switch (access) {
        case PageAccess::Read:
            return 1;
        case PageAccess::Written:
            return 3;
        case PageAccess::Idle:
        case PageAccess::Hole:
            return 0;
    }
    return 0;
}

void addWeight(std::uint8_t& count, std::uint8_t weight) {
    count = static_cast<std::uint8_t>(std::min<unsigned>(kMaxCount, unsigned{count} + weight));
}

namespace {

// Adds the weight of an observation to the pages it covers, clipped to the candidates.
void record(TargetState& state, std::uint64_t address, std::uint64_t pages, PageAccess access) {
    std::uint8_t weight = weightOf(access);
    if (weight == 0) return;
    auto add = [weight](std::uint8_t& count) {
        if (count <= kMaxCount) addWeight(count, weight);
    };
    std::uint64_t end = address + pages * kPageSize;
    auto it = std::upper_bound(state.vmas.begin(), state.vmas.end(), address,
                               [](std::uint64_t a, const Vma& v) { return a < v.range.start; });
    if (it != state.vmas.begin()) --it;
    for (; it != state.vmas.end() && it->range.start < end; ++it) {
        std::uint64_t from = std::max(address, it->range.start);
        std::uint64_t to = std::min(end, it->range.end);
        if (from >= to) continue;
        std::uint64_t n = (to - from) / kPageSize;
        // A region observation may span unpopulated address space: it only adds to
        // pages already known, unless it is small enough to be page-granular.
        if (state.presentOnly || n <= kChunkPages)
            state.counts.forPages(from, n, add);
        else
            state.counts.forExistingPages(from, n, add);
    }
}

class CountingSink final : public AccessSink {
  public:
    explicit CountingSink(TargetState& state) : state_(state) {}
    void record(std::uint64_t address, std::uint64_t pages, PageAccess access) override {
        slide::record(state_, address, pages, access);
    }

  private:
    TargetState& state_;
};

}  // namespace

void startCounting(TargetState& state, const KernelPaths& paths, bool pagemapScan,
                   AccessScanner& scanner, std::stop_token stop) {
    UniqueFd smaps(openTargetFile(state.target, paths.proc, "smaps", O_RDONLY));
    state.vmas = parseCandidateVmas(kernel::readWholeFile(smaps.get()));
    if (stop.stop_requested()) return;
    if (!pagemapScan) {
        std::uint64_t pages = 0;
        for (const auto& vma : state.vmas) pages += vma.range.pages();
        if (pages > kMaxVirtualPagesWithoutPagemapScan)
            throw TargetSkipped(fmt::format(
                "process {} skipped: its candidate mappings span {} GiB of address space and "
                "this kernel has no PAGEMAP_SCAN (Linux 6.7+), so every pass would read {} MiB "
                "of pagemap; the limit without PAGEMAP_SCAN is {} GiB",
                state.target.pid, pages * kPageSize >> 30, pages * 8 >> 20,
                kMaxVirtualPagesWithoutPagemapScan * kPageSize >> 30));
    }
    state.pagemap = UniqueFd(openTargetFile(state.target, paths.proc, "pagemap", O_RDONLY));
    if (!state.presentOnly) {
        // Region scanners only add to pages the engine knows: learn the present ones.
        PresentPagemap present(state.pagemap.get(), pagemapScan);
        if (!forEachCandidatePage(state, present, stop,
                                  [&](std::uint64_t address) { state.counts.ensure(address, 1); }))
            return;
    }
    state.session = scanner.watch(state.target, state.vmas, stop);
}

void countRound(TargetState& state, std::stop_token stop) {
    if (!state.session) return;
    CountingSink sink(state);
    state.session->round(stop, sink);
}

}  // namespace etmem::slide
