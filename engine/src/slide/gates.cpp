// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/slide/gates.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "etmem/kernel/files.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {

using namespace etmem::kernel;
namespace {

// openEuler's etmem_swap module: ioctls on /proc/PID/swap_pages (magic 0x77) that set the
// swap-cache marks (low in bits 0-7, high in bits 8-15) and start reclaiming the swap cache.
constexpr unsigned long kReclaimSwapCacheOn = _IOW(0x77, 0x1, unsigned int);
constexpr unsigned long kSetSwapCacheWmark = _IOW(0x77, 0x2, unsigned int);

// The number after "Key:" on the line that starts with "Key:", in the unit the file uses.
std::optional<std::uint64_t> fieldOf(std::string_view text, std::string_view key) {
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':')
            continue;
        const std::size_t digits = line.find_first_of("0123456789", key.size());
        if (digits == std::string_view::npos) return std::nullopt;
        std::uint64_t value = 0;
        const auto [ptr, ec] =
            std::from_chars(line.data() + digits, line.data() + line.size(), value);
        if (ec != std::errc{}) return std::nullopt;
        return value;
    }
    return std::nullopt;
}

std::string formatKb(std::uint64_t kb) {
    if (kb >= (1u << 20)) return fmt::format("{:.1f} GiB", static_cast<double>(kb) / (1u << 20));
    if (kb >= 1024) return fmt::format("{:.1f} MiB", static_cast<double>(kb) / 1024);
    return fmt::format("{} KiB", kb);
}

unsigned percentOf(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? 0 : static_cast<unsigned>(part * 100 / whole);
}

}  // namespace

GateSettings GateSettings::of(const ProjectConfig& project, const TaskConfig& task) {
    GateSettings settings;
    settings.sysmemThreshold = project.sysmemThreshold;
    settings.swapcacheHighWmark = project.swapcacheHighWmark;
    settings.swapcacheLowWmark = project.swapcacheLowWmark;
    settings.swapThresholdBytes = task.slide.swapThresholdBytes;
    settings.dramPercent = task.slide.dramPercent;
    settings.swapFlag = task.slide.swapFlag;
    return settings;
}

std::optional<MemInfo> parseMemInfo(std::string_view text) {
    const auto total = fieldOf(text, "MemTotal");
    const auto free = fieldOf(text, "MemFree");
    if (!total || !free || *total == 0) return std::nullopt;
    return MemInfo{*total, *free, fieldOf(text, "SwapCached").value_or(0)};
}

std::optional<ProcessMemory> parseProcessStatus(std::string_view text) {
    const auto rss = fieldOf(text, "VmRSS");
    if (!rss) return std::nullopt;  // a kernel thread or a zombie: no memory to swap
    return ProcessMemory{*rss, fieldOf(text, "VmSwap").value_or(0)};
}

unsigned freePercent(const MemInfo& memory) {
    return percentOf(memory.freeKb, memory.totalKb);
}

bool systemAllowsSwap(const MemInfo& memory, unsigned sysmemThreshold) {
    return freePercent(memory) < sysmemThreshold;
}

bool processAllowsSwap(const ProcessMemory& process, std::uint64_t swapThresholdBytes) {
    return process.rssKb * 1024 > swapThresholdBytes;
}

std::uint64_t dramSwapBudgetPages(const ProcessMemory& process, unsigned dramPercent) {
    const std::uint64_t keepKb = (process.rssKb + process.swapKb) * dramPercent / 100;
    if (keepKb >= process.rssKb) return 0;
    return (process.rssKb - keepKb) * 1024 / kPageSize;
}

bool swapCacheAboveHigh(const MemInfo& memory, unsigned highWmark) {
    return memory.swapCachedKb * 100 > memory.totalKb * highWmark;
}

std::uint64_t swapCacheExcessKb(const MemInfo& memory, unsigned lowWmark) {
    const std::uint64_t lowKb = memory.totalKb * lowWmark / 100;
    return memory.swapCachedKb > lowKb ? memory.swapCachedKb - lowKb : 0;
}

void keepColdestFirst(std::vector<std::uint64_t>& pagesByCount, std::uint64_t budget) {
    for (std::uint64_t& pages : pagesByCount) {
        pages = std::min(pages, budget);
        budget -= pages;
    }
}

Gates::Gates(GateSettings settings, KernelPaths paths)
    : settings_(std::move(settings)), paths_(std::move(paths)) {}

std::optional<MemInfo> Gates::readMemInfo() const {
    UniqueFd file(::open((paths_.proc / "meminfo").c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return std::nullopt;
    return parseMemInfo(readWholeFile(file.get()));
}

GateDecision Gates::forCycle() const {
    GateDecision decision;
    if (settings_.swapFlag) {
        // Marked mappings are told apart only by openEuler's etmem_scan (VMA_SCAN_ADD_FLAGS on
        // /proc/PID/idle_pages); swapping anything else would break the operator's intent.
        const bool hasEtmemScan = std::filesystem::exists(paths_.proc / "self" / "idle_pages");
        decision.swap = false;
        decision.error = fmt::format(
            "swap_flag=yes: swapping only the mappings the application marked needs openEuler's "
            "etmem_scan VMA marking (ioctl VMA_SCAN_ADD_FLAGS on /proc/PID/idle_pages), {}; this "
            "task swaps nothing (set swap_flag=no to swap its cold pages)",
            hasEtmemScan ? "which this etmem does not drive yet" : "which this kernel lacks");
        return decision;
    }
    if (!settings_.sysmemThreshold) return decision;
    const std::optional<MemInfo> memory = readMemInfo();
    if (!memory) {
        decision.swap = false;
        decision.error = "sysmem_threshold: /proc/meminfo cannot be read; not swapping";
        return decision;
    }
    if (!systemAllowsSwap(*memory, *settings_.sysmemThreshold)) {
        decision.swap = false;
        decision.note = fmt::format(
            "sysmem_threshold: {}% of RAM is free (MemFree {} of {}), not below {}%; not "
            "swapping this cycle",
            freePercent(*memory), formatKb(memory->freeKb), formatKb(memory->totalKb),
            *settings_.sysmemThreshold);
    } else {
        decision.note = fmt::format("sysmem_threshold: {}% of RAM is free, below {}%; swapping",
                                    freePercent(*memory), *settings_.sysmemThreshold);
    }
    return decision;
}

GateDecision Gates::forTarget(const Target& target) const {
    GateDecision decision;
    if (settings_.swapThresholdBytes == 0 && settings_.dramPercent == 0) return decision;
    UniqueFd file(openTargetFile(target, paths_.proc, "status", O_RDONLY));
    const std::optional<ProcessMemory> process = parseProcessStatus(readWholeFile(file.get()));
    if (!process) {
        decision.swap = false;
        return decision;
    }
    if (settings_.swapThresholdBytes != 0 &&
        !processAllowsSwap(*process, settings_.swapThresholdBytes)) {
        decision.swap = false;
        decision.note = fmt::format(
            "swap_threshold: process {} has {} resident, not above {}; left alone", target.pid,
            formatKb(process->rssKb), formatKb(settings_.swapThresholdBytes / 1024));
        return decision;
    }
    if (settings_.dramPercent != 0) {
        decision.budgetPages = dramSwapBudgetPages(*process, settings_.dramPercent);
        decision.note = fmt::format(
            "dram_percent: process {} has {} resident and {} swapped; keeping {}% resident, at "
            "most {} pages go this cycle",
            target.pid, formatKb(process->rssKb), formatKb(process->swapKb), settings_.dramPercent,
            decision.budgetPages);
    }
    return decision;
}

std::string Gates::afterSwap(const Target& target) const {
    if (!settings_.swapcacheHighWmark || !settings_.swapcacheLowWmark) return "";
    const std::optional<MemInfo> memory = readMemInfo();
    if (!memory || !swapCacheAboveHigh(*memory, *settings_.swapcacheHighWmark)) return "";
    const unsigned high = *settings_.swapcacheHighWmark, low = *settings_.swapcacheLowWmark;
    const std::string where = fmt::format(
        "swap cache {} is {}% of RAM, above swapcache_high_wmark {}%",
        formatKb(memory->swapCachedKb), percentOf(memory->swapCachedKb, memory->totalKb), high);
    try {
        UniqueFd file(openTargetFile(target, paths_.proc, "swap_pages", O_RDWR));
        unsigned marks = (low & 0xFFu) | ((high << 8) & 0xFF00u);
        unsigned on = 0;
        if (::ioctl(file.get(), kSetSwapCacheWmark, &marks) != 0 ||
            ::ioctl(file.get(), kReclaimSwapCacheOn, &on) != 0) {
            return fmt::format("{}: etmem_swap refused to reclaim it: {}", where,
                               std::strerror(errno));
        }
        return "";
    } catch (const BackendUnavailable&) {
        return fmt::format(
            "{}: reclaiming it down to {}% ({} above) needs openEuler's etmem_swap module "
            "(ioctl on /proc/PID/swap_pages), which this kernel lacks; the kernel frees swap "
            "cache only under memory pressure",
            where, low, formatKb(swapCacheExcessKb(*memory, low)));
    }
}

}  // namespace etmem::slide
