// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/slide/pacing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

// The bucket holds a tenth of a second of the rate: a batch is never larger, so the
// confirmed rate over any window w stays below rate * (w + 0.1 s).
constexpr double kBucketSeconds = 0.1;
// Without a rate limit, batches stay bounded so that stop and pressure act within one.
constexpr std::uint64_t kUnpacedBatchBytes = 2 * 1024 * 1024;
constexpr std::uint64_t kMaxBatchBytes = 4 * 1024 * 1024;

std::uint64_t totalPages(std::span<const PageRange> ranges) {
    std::uint64_t pages = 0;
    for (const auto& range : ranges) pages += range.pages();
    return pages;
}

// Takes up to `pages` pages from the front of ranges[index..] (offset pages into the
// current one) into batch.
void takeBatch(std::span<const PageRange> ranges, std::size_t& index, std::uint64_t& offset,
               std::uint64_t pages, std::vector<PageRange>& batch) {
    batch.clear();
    while (pages > 0 && index < ranges.size()) {
        const PageRange& range = ranges[index];
        const std::uint64_t left = range.pages() - offset;
        const std::uint64_t take = std::min(left, pages);
        const std::uint64_t start = range.start + offset * kPageSize;
        batch.push_back({start, start + take * kPageSize});
        pages -= take;
        offset += take;
        if (offset == range.pages()) {
            ++index;
            offset = 0;
        }
    }
}

std::string percent(double value) {
    return fmt::format("{:.1f}%", value);
}

std::string describe(const Pacer& pacer, const PacingState& state) {
    const PacingLimits& limits = pacer.limits();
    if (state.paused) {
        return fmt::format("memory pressure {} is at or above pressure_limit {}: swap-out paused",
                           percent(state.pressure.value_or(0)), percent(limits.pressureLimit));
    }
    std::vector<std::string> why;
    if (limits.pressureLimit != 0 && pacer.share() < 1.0) {
        why.push_back(
            fmt::format("memory pressure {} (pressure_limit {}) scales swap-out to {:.0f}%",
                        percent(state.pressure.value_or(0)), percent(limits.pressureLimit),
                        pacer.share() * 100));
    }
    if (limits.maxSwapRate != 0)
        why.push_back(fmt::format("max_swap_rate {}/s", formatSize(limits.maxSwapRate)));
    std::string text;
    for (const auto& part : why) text += (text.empty() ? "" : "; ") + part;
    return fmt::format("{}: {} cold pages wait for the next cycle", text, state.heldBackPages);
}

}  // namespace

std::optional<double> parsePsiSomeAvg10(std::string_view text) {
    constexpr std::string_view kKey = "some avg10=";
    const std::size_t at = text.find(kKey);
    if (at == std::string_view::npos || (at != 0 && text[at - 1] != '\n')) return std::nullopt;
    const char* begin = text.data() + at + kKey.size();
    double value = 0;
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec != std::errc() || end == begin || value < 0) return std::nullopt;
    return value;
}

std::filesystem::path pressureFileFor(const std::string& cgroup,
                                      const std::filesystem::path& cgroupRoot,
                                      const std::filesystem::path& procRoot) {
    if (!cgroup.empty()) return cgroupRoot / cgroup / "memory.pressure";
    return procRoot / "pressure" / "memory";
}

std::optional<double> readPressure(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return parsePsiSomeAvg10(text.str());
}

double pressureShare(std::optional<double> pressure, double limit) {
    if (limit <= 0) return 1.0;
    // No reading (a kernel without PSI): pacing by pressure cannot work, so it does not
    // hold anything back; the engine reports why.
    if (!pressure) return 1.0;
    return std::clamp(1.0 - *pressure / limit, 0.0, 1.0);
}

Pacer::Pacer(PacingLimits limits) : limits_(limits) {}

void Pacer::begin(std::optional<double> pressure, Clock::time_point now) {
    updatePressure(pressure);
    last_ = now;
    tokens_ = depth();
}

void Pacer::updatePressure(std::optional<double> pressure) {
    pressure_ = pressure;
    share_ = pressureShare(pressure, limits_.pressureLimit);
}

bool Pacer::paused() const {
    return limits_.pressureLimit != 0 && pressure_ && *pressure_ >= limits_.pressureLimit;
}

double Pacer::depth() const {
    return std::max<double>(kPageSize, static_cast<double>(currentRate()) * kBucketSeconds);
}

std::uint64_t Pacer::currentRate() const {
    if (limits_.maxSwapRate == 0) return 0;
    return static_cast<std::uint64_t>(static_cast<double>(limits_.maxSwapRate) * share_);
}

void Pacer::refill(Clock::time_point now) {
    if (now <= last_) return;
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(depth(), tokens_ + seconds * static_cast<double>(currentRate()));
    last_ = now;
}

std::uint64_t Pacer::allowance(Clock::time_point now) {
    if (limits_.maxSwapRate == 0) return std::numeric_limits<std::uint64_t>::max();
    refill(now);
    return tokens_ <= 0 ? 0 : static_cast<std::uint64_t>(tokens_);
}

Pacer::Clock::duration Pacer::waitFor(std::uint64_t bytes, Clock::time_point now) {
    if (limits_.maxSwapRate == 0) return Clock::duration::zero();
    refill(now);
    const double missing = static_cast<double>(bytes) - tokens_;
    if (missing <= 0) return Clock::duration::zero();
    const double rate = static_cast<double>(currentRate());
    if (rate <= 0) return Clock::duration::max();
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(missing / rate));
}

void Pacer::charge(std::uint64_t bytes) {
    // May go below zero: a batch the kernel swapped more of than expected is paid back
    // before the next one goes.
    tokens_ -= static_cast<double>(bytes);
}

std::uint64_t swapOutPaced(Pacer& pacer, std::span<const PageRange> cold,
                           Pacer::Clock::time_point deadline, const PacedSwapIo& io,
                           std::stop_token stop, PacingState& state) {
    const PacingLimits& limits = pacer.limits();
    if (limits.pressureLimit != 0) pacer.updatePressure(io.pressure());
    const std::uint64_t total = totalPages(cold);
    // Senpai's step: the cycle's amount shrinks as pressure approaches the limit.
    std::uint64_t allowed =
        static_cast<std::uint64_t>(std::ceil(static_cast<double>(total) * pacer.share()));
    std::uint64_t batchBytes = kUnpacedBatchBytes;
    if (limits.maxSwapRate != 0) {
        batchBytes = std::clamp<std::uint64_t>(
            static_cast<std::uint64_t>(static_cast<double>(pacer.currentRate()) * 0.1) / kPageSize *
                kPageSize,
            kPageSize, kMaxBatchBytes);
    }
    std::uint64_t done = 0, confirmed = 0;
    std::size_t index = 0;
    std::uint64_t offset = 0;
    std::vector<PageRange> batch;
    bool paused = pacer.paused();
    while (!paused && done < allowed && !stop.stop_requested()) {
        const std::uint64_t pages = std::min(batchBytes / kPageSize, allowed - done);
        const auto wait = pacer.waitFor(pages * kPageSize, io.now());
        if (wait > Pacer::Clock::duration::zero()) {
            if (io.now() + wait > deadline) break;  // the rest waits for the next cycle
            if (!io.sleep(wait, stop)) break;
        }
        takeBatch(cold, index, offset, pages, batch);
        io.swap(batch);
        const std::uint64_t got = io.confirm(batch);
        pacer.charge(got * kPageSize);
        confirmed += got;
        done += pages;
        if (limits.pressureLimit != 0 && done < allowed) {
            pacer.updatePressure(io.pressure());
            paused = pacer.paused();
        }
    }
    state.pressure = pacer.pressure();
    state.rate = pacer.currentRate();
    state.paused = paused;
    state.heldBackPages = total - done;
    state.paced = state.paused || state.heldBackPages > 0;
    state.reason = state.paced ? describe(pacer, state) : "";
    return confirmed;
}

PacingState pausedBeforeScan(const Pacer& pacer) {
    PacingState state;
    state.paced = state.paused = true;
    state.pressure = pacer.pressure();
    state.rate = pacer.currentRate();
    state.reason = describe(pacer, state) + "; not scanned this cycle";
    return state;
}

void mergePacing(PacingState& into, const PacingState& target) {
    into.paced = into.paced || target.paced;
    into.paused = into.paused || target.paused;
    into.heldBackPages += target.heldBackPages;
    into.rate = target.rate;
    into.pressure = target.pressure;
    if (!target.reason.empty()) into.reason = target.reason;
}

std::optional<std::string> pacingChange(const PacingState& before, const PacingState& now,
                                        bool swapped) {
    if (before.paused && now.paused && swapped)
        return fmt::format("swap-out resumed, then paused again: {}", now.reason);
    if (before.paced == now.paced && before.paused == now.paused) return std::nullopt;
    if (!now.paced) return std::string("swap-out is no longer paced");
    if (now.paused) return now.reason;
    return fmt::format("swap-out is paced: {}", now.reason);
}

std::string formatSize(std::uint64_t bytes) {
    constexpr std::string_view kSuffixes = "KMG";
    std::string suffix;
    for (char s : kSuffixes) {
        if (bytes == 0 || bytes % 1024 != 0) break;
        bytes /= 1024;
        suffix = std::string(1, s);
    }
    return fmt::format("{}{}", bytes, suffix);
}

bool sleepUnlessStopped(Pacer::Clock::duration wait, std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock guard(mutex);
    wake.wait_for(guard, stop, wait, [] { return false; });
    return !stop.stop_requested();
}

}  // namespace etmem::slide
