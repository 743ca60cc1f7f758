// SPDX-License-Identifier: MulanPSL-2.0
// Pacing of swap-out: a byte rate and a memory-pressure limit per task.
//
// max_swap_rate: a token bucket filled at the rate. A batch asks the kernel for no more than
// the bucket holds, and the bucket is charged with what pagemap then confirms as swapped
// (never with what was asked), so the confirmed swap-out rate cannot exceed the limit by
// more than the bucket's depth (a tenth of a second of the rate). A cycle's swap-out is
// spread over at most its pacing window; cold pages that do not fit wait for the next cycle,
// and they go coldest first (lowest access count first).
//
// pressure_limit: PSI "some avg10" of the target's cgroup (memory.pressure) or of the whole
// system (/proc/pressure/memory). At or above the limit, swap-out pauses. Below it, the
// amount swapped is scaled by (1 - pressure/limit), Senpai's (Meta's TMO) controller: far
// from the limit the engine swaps its full share, near it only a little, so the pressure
// etmem adds approaches the limit from below instead of overshooting and oscillating.
// Pressure is re-read between batches, so a pause takes effect within one batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/kernel/memory_map.hpp"

namespace etmem::slide {

struct PacingLimits {
    std::uint64_t maxSwapRate = 0;  // bytes/s; 0: no limit
    double pressureLimit = 0;       // percent; 0: not paced by pressure
    bool active() const { return maxSwapRate != 0 || pressureLimit != 0; }
};

// "some avg10" of a PSI file's text ("some avg10=1.23 avg60=... total=...").
std::optional<double> parsePsiSomeAvg10(std::string_view text);
// The PSI file pacing reads for a target: its cgroup's memory.pressure when it is in one
// (cgroup relative to cgroupRoot, "" when not), else procRoot/pressure/memory.
std::filesystem::path pressureFileFor(const std::string& cgroup,
                                      const std::filesystem::path& cgroupRoot,
                                      const std::filesystem::path& procRoot);
// Reads a PSI file's some avg10; nullopt when the kernel has no PSI there.
std::optional<double> readPressure(const std::filesystem::path& file);

// Senpai's scale: the share of a full swap-out allowed at this pressure, 0..1.
double pressureShare(std::optional<double> pressure, double limit);

// What pacing did in one cycle, for the report, the bus and the journal.
struct PacingState {
    bool paced = false;               // the limits held cold pages back (or paused swap-out)
    bool paused = false;              // pressure at or above the limit
    std::string reason;               // why, in a sentence; "" when not paced
    std::uint64_t rate = 0;           // the rate allowed now, bytes/s (0: unlimited)
    std::optional<double> pressure;   // the last reading, percent
    std::uint64_t heldBackPages = 0;  // cold pages left for the next cycle
    bool operator==(const PacingState&) const = default;
};

class Pacer {
  public:
    using Clock = std::chrono::steady_clock;

    explicit Pacer(PacingLimits limits);

    // A new act: the bucket refills from now on at the rate scaled by the pressure share.
    void begin(std::optional<double> pressure, Clock::time_point now);
    // A new pressure reading between batches.
    void updatePressure(std::optional<double> pressure);
    bool paused() const;
    // Bytes that may be asked of the kernel now (the bucket's content, UINT64_MAX without a
    // rate limit).
    std::uint64_t allowance(Clock::time_point now);
    // How long until `bytes` are allowed (zero if they are now).
    Clock::duration waitFor(std::uint64_t bytes, Clock::time_point now);
    // Charges what the kernel confirmed as swapped.
    void charge(std::uint64_t bytes);
    // The rate allowed now (bytes/s, 0 without a rate limit) and the pressure share.
    std::uint64_t currentRate() const;
    double share() const { return share_; }
    const PacingLimits& limits() const { return limits_; }
    std::optional<double> pressure() const { return pressure_; }

  private:
    void refill(Clock::time_point now);
    double depth() const;

    PacingLimits limits_;
    std::optional<double> pressure_;
    double share_ = 1.0;
    double tokens_ = 0;
    Clock::time_point last_{};
};

// Swaps out `cold` (ordered coldest first) in paced batches until all of it went, the
// deadline passes, pressure pauses swap-out, or stop is requested. The pacer was begun at
// the start of the act (all targets of a task share its rate). swap(batch) asks the kernel;
// confirm(batch) returns how many of the batch's pages now read as swapped. sleep(d, stop)
// waits (returns false when stopped). Returns the confirmed pages; state says what pacing
// did. readPressure is called between batches when a pressure limit is set.
struct PacedSwapIo {
    std::function<void(std::span<const kernel::PageRange>)> swap;
    std::function<std::uint64_t(std::span<const kernel::PageRange>)> confirm;
    std::function<std::optional<double>()> pressure;
    std::function<bool(Pacer::Clock::duration, std::stop_token)> sleep;
    std::function<Pacer::Clock::time_point()> now;
};
// Waits `wait`, or less when stop is requested meanwhile: false then (PacedSwapIo::sleep).
bool sleepUnlessStopped(Pacer::Clock::duration wait, std::stop_token stop);
std::uint64_t swapOutPaced(Pacer& pacer, std::span<const kernel::PageRange> cold,
                           Pacer::Clock::time_point deadline, const PacedSwapIo& io,
                           std::stop_token stop, PacingState& state);
// The state of a cycle that pressure pauses before it scans (pacer.paused() after
// updatePressure): nothing is scanned, so a stalled workload pays nothing for etmem.
PacingState pausedBeforeScan(const Pacer& pacer);
// Adds one target's pacing to the act's (reason and readings from the latest).
void mergePacing(PacingState& into, const PacingState& target);

// What to say in the journal when pacing starts, changes kind (rate / pressure / paused) or
// ends between two acts; nullopt when nothing changed worth a line. `swapped`: the act
// swapped pages. A paused task that swaps again and pauses within the same act (pressure
// hovering at the limit, as it does once etmem's own refaults count) has resumed: that is
// said too, not hidden by the two acts both ending paused.
std::optional<std::string> pacingChange(const PacingState& before, const PacingState& now,
                                        bool swapped = false);

// "8M", "512K", "4096" for a byte count (binary suffixes, as the config reads them).
std::string formatSize(std::uint64_t bytes);

}  // namespace etmem::slide
