// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/settings.hpp"

#include <fmt/format.h>

namespace etmem {
namespace {

void setText(FigureList& figures, std::string_view name, std::string value) {
    figures.set(Figure{std::string(name), std::move(value), Combine::Join});
}

}  // namespace

FigureList projectGates(const ProjectConfig& project) {
    FigureList gates;
    if (project.sysmemThreshold)
        setText(gates, "sysmem_threshold", fmt::format("{}", *project.sysmemThreshold));
    if (project.swapcacheHighWmark && project.swapcacheLowWmark) {
        setText(gates, "swapcache_high_wmark", fmt::format("{}", *project.swapcacheHighWmark));
        setText(gates, "swapcache_low_wmark", fmt::format("{}", *project.swapcacheLowWmark));
    }
    return gates;
}

FigureList taskGates(const TaskConfig& task) {
    FigureList gates;
    if (task.slide.swapThresholdBytes != 0)
        setText(gates, "swap_threshold", slide::swapThresholdText(task.slide.swapThresholdBytes));
    if (task.slide.dramPercent != 0)
        setText(gates, "dram_percent", fmt::format("{}", task.slide.dramPercent));
    setText(gates, "swap_flag", task.slide.swapFlag ? "yes" : "no");
    return gates;
}

FigureList taskSettings(const ProjectConfig& project, const TaskConfig& task) {
    FigureList settings;
    setText(settings, "engine", task.engine);
    settings.setCount("T", task.slide.T);
    setText(settings, "scanner", task.slide.scanner);
    setText(settings, "swapper", task.slide.swapper);
    settings.setCount("cold_cycles", task.slide.coldCycles);
    if (task.slide.maxSwapRate != 0) settings.setCount("max_swap_rate", task.slide.maxSwapRate);
    if (task.slide.pressureLimit != 0)
        settings.set(Figure{"pressure_limit", task.slide.pressureLimit, Combine::Max});
    if (task.slide.coldNode >= 0) {
        setText(settings, "cold_destination", slide::coldDestinationText(task.slide.coldNode));
        if (task.slide.thenSwapAfter != 0)
            settings.setCount("then_swap_after", task.slide.thenSwapAfter);
        if (task.slide.hotReservePercent != 0)
            setText(settings, "node_hot_reserve", fmt::format("{}%", task.slide.hotReservePercent));
        else if (task.slide.hotReserveBytes != 0)
            setText(settings, "node_hot_reserve", std::to_string(task.slide.hotReserveBytes));
        if (task.slide.maxMigrateRate != 0)
            settings.setCount("max_migrate_rate", task.slide.maxMigrateRate);
    }
    if (!task.slide.nodePairs.empty()) {  // etmem 1.1's cslide
        std::string pairs;
        for (const auto& [hot, cold] : task.slide.nodePairs)
            pairs += fmt::format("{}{},{}", pairs.empty() ? "" : ";", hot, cold);
        setText(settings, "node_pair", pairs);
        if (task.slide.migrateQuotaMiB >= 0)
            settings.setCount("node_mig_quota",
                              static_cast<std::uint64_t>(task.slide.migrateQuotaMiB));
        if (task.slide.hotReserveBytes != 0 && task.slide.coldNode < 0)
            settings.setCount("node_hot_reserve", task.slide.hotReserveBytes >> 20);
    }
    for (const RegionKey& key : kRegionKeys)
        if (project.region.*key.field != 0) settings.setCount(key.name, project.region.*key.field);
    return settings;
}

}  // namespace etmem
