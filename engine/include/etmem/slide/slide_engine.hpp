// The slide engine: per cycle, `loop` scan rounds count how often each candidate page was
// accessed (weight 1 for a read, 3 for a write where the scanner tells them apart); act()
// classifies every resident candidate page (count >= T: hot, else cold) and swaps the cold
// ones out.
//
// State: one byte per candidate page per target for the cycle. Counts saturate at 254, so
// for loop > 84 a T above 254 is treated as 254.
//
// Swapped pages are counted from what the kernel confirms: after the swap-out, the cold
// pages whose pagemap entry reads "swapped" (bit 62). The swapper's own return value is
// only logged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "etmem/slide/backends.hpp"
#include "etmem/task_engine.hpp"

namespace etmem::slide {

inline constexpr std::uint8_t kMaxCount = 254;

// Weight of one observation: 0 idle, 1 read, 3 written.
std::uint8_t weightOf(PageAccess access);
// counts[i] += weight, saturating at kMaxCount.
void addWeight(std::uint8_t& count, std::uint8_t weight);

// Hot/cold split and histogram (buckets 0..3*loop; counts above the last bucket land in
// it) of one target's counts, for the pages `classified` says are resident candidates.
struct Classification {
    std::uint64_t hot = 0;
    std::uint64_t cold = 0;
    std::vector<std::uint64_t> histogram;
};
bool isHot(std::uint8_t count, unsigned threshold);
void classifyInto(Classification& result, std::uint8_t count, unsigned loop, unsigned threshold);

struct SlideOptions {
    ScannerKind scanner = ScannerKind::Auto;
    SwapperKind swapper = SwapperKind::Auto;
    KernelPaths paths;
    // Set to use these backends instead of probing (tests); ownership moves to the engine.
    std::shared_ptr<AccessScanner> scannerOverride;
    std::shared_ptr<Swapper> swapperOverride;
    std::optional<bool> swapActiveOverride;
};

std::unique_ptr<TaskEngine> makeSlideEngine(const EngineContext& context,
                                            SlideOptions options = {});

}  // namespace etmem::slide
