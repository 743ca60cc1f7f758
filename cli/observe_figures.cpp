// SPDX-License-Identifier: MulanPSL-2.0
#include "observe_figures.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "etmem/figures.hpp"

namespace etmem::cli {
namespace {

// "idle_bytes_4" -> 4.
std::optional<unsigned> idleAgeOf(std::string_view name) {
    if (!name.starts_with(figure::kIdleBytesPrefix)) return std::nullopt;
    const std::string_view digits = name.substr(figure::kIdleBytesPrefix.size());
    unsigned age = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), age);
    if (error != std::errc() || end != digits.data() + digits.size() || age == 0)
        return std::nullopt;
    return age;
}

std::string total(std::string_view name) {
    return "total_" + std::string(name);
}

}  // namespace

ObserveFigures observeFigures(const Statistics& stats) {
    ObserveFigures figures;
    for (const auto& other : stats.others) {
        const auto* count = std::get_if<std::uint64_t>(&other.value);
        if (count == nullptr) continue;
        const std::string_view name = other.name;
        if (name == figure::kWouldSwapPages) figures.wouldSwapPages = *count;
        if (name == figure::kWouldSwapBytes) figures.wouldSwapBytes = *count;
        if (name == total(figure::kWouldSwapPages)) figures.totalWouldSwapPages = *count;
        if (name == total(figure::kWouldSwapBytes)) figures.totalWouldSwapBytes = *count;
        if (name == figure::kRefaults) figures.refaults = *count;
        if (name == total(figure::kRefaults)) figures.totalRefaults = *count;
        if (const auto age = idleAgeOf(name)) figures.idleBytes.emplace_back(*age, *count);
    }
    std::sort(figures.idleBytes.begin(), figures.idleBytes.end());
    return figures;
}

bool isObserveFigure(std::string_view name) {
    for (std::string_view known :
         {figure::kWouldSwapPages, figure::kWouldSwapBytes, figure::kRefaults}) {
        if (name == known || name == total(known)) return true;
    }
    return idleAgeOf(name).has_value();
}

}  // namespace etmem::cli
