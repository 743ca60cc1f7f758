// SPDX-License-Identifier: MulanPSL-2.0
#include "histogram_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "text_util.hpp"

namespace etmem::cli {
namespace {

// A bucket of the chart: the counts first..last of the histogram, merged.
struct Bucket {
    std::size_t first = 0;
    std::size_t last = 0;
    std::uint64_t pages = 0;
};

std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
    return b > std::numeric_limits<std::uint64_t>::max() - a
               ? std::numeric_limits<std::uint64_t>::max()
               : a + b;
}

// loop can reach 120, so 3*loop+1 = 361 counts: merge neighbours into equal ranges so the
// chart stays a glance, not a page.
std::vector<Bucket> groupBuckets(const std::vector<std::uint64_t>& histogram,
                                 std::size_t maxLines) {
    std::size_t perLine = (histogram.size() + std::max<std::size_t>(maxLines, 1) - 1) /
                          std::max<std::size_t>(maxLines, 1);
    std::vector<Bucket> buckets;
    for (std::size_t first = 0; first < histogram.size(); first += perLine) {
        Bucket bucket{first, std::min(first + perLine, histogram.size()) - 1, 0};
        for (std::size_t k = bucket.first; k <= bucket.last; ++k)
            bucket.pages = saturatingAdd(bucket.pages, histogram[k]);
        buckets.push_back(bucket);
    }
    return buckets;
}

std::string label(const Bucket& bucket) {
    if (bucket.first == bucket.last) return fmt::format("k={}", bucket.first);
    return fmt::format("k={}-{}", bucket.first, bucket.last);
}

// U+2588 FULL BLOCK, and U+2589..U+258F: seven to one eighths of a block.
constexpr std::string_view kFullBlock = "\xe2\x96\x88";
std::string eighthBlock(std::size_t eighths) {
    return {'\xe2', '\x96', static_cast<char>(0x90 - eighths)};
}

// Exactly style.barWidth columns: the bar, then spaces.
std::string bar(std::uint64_t pages, std::uint64_t largest, const ChartStyle& style) {
    std::size_t unitsPerColumn = style.glyphs == BarGlyphs::Unicode ? 8 : 1;
    std::size_t maxUnits = style.barWidth * unitsPerColumn;
    std::size_t units = 0;
    if (pages > 0 && largest > 0 && maxUnits > 0) {
        long double share = static_cast<long double>(pages) / static_cast<long double>(largest);
        units = static_cast<std::size_t>(std::llround(share * static_cast<long double>(maxUnits)));
        units = std::clamp<std::size_t>(units, 1, maxUnits);
    }
    std::size_t fullColumns = units / unitsPerColumn;
    std::size_t partial = units % unitsPerColumn;
    std::string out;
    for (std::size_t i = 0; i < fullColumns; ++i) {
        if (style.glyphs == BarGlyphs::Unicode)
            out += kFullBlock;
        else
            out += '#';
    }
    if (partial > 0) out += eighthBlock(partial);
    std::size_t used = fullColumns + (partial > 0 ? 1 : 0);
    out.append(style.barWidth - used, ' ');
    return out;
}

}  // namespace

bool localeIsUtf8(std::string_view lcAll, std::string_view lcCtype, std::string_view lang) {
    std::string_view locale = !lcAll.empty() ? lcAll : !lcCtype.empty() ? lcCtype : lang;
    // language_TERRITORY.codeset@modifier; some systems set the codeset alone ("UTF-8").
    std::size_t dot = locale.find('.');
    std::string_view codeset = dot == std::string_view::npos ? locale : locale.substr(dot + 1);
    codeset = codeset.substr(0, codeset.find('@'));
    std::string normalized;
    for (char c : codeset) {
        if (c != '-' && c != '_')
            normalized += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return normalized == "utf8";
}

std::vector<std::string> histogramChart(const std::vector<std::uint64_t>& histogram,
                                        std::optional<std::uint32_t> hotFrom,
                                        const ChartStyle& style) {
    std::vector<Bucket> buckets = groupBuckets(histogram, style.maxLines);
    std::uint64_t largest = 0;
    std::size_t labelWidth = 0;
    for (const auto& bucket : buckets) {
        largest = std::max(largest, bucket.pages);
        labelWidth = std::max(labelWidth, label(bucket).size());
    }
    std::size_t countWidth = fmt::formatted_size("{}", largest);
    std::vector<std::string> lines;
    for (const auto& bucket : buckets) {
        std::string line = fmt::format("{:<{}}  {}  {:>{}} {}", label(bucket), labelWidth,
                                       bar(bucket.pages, largest, style), bucket.pages, countWidth,
                                       bucket.pages == 1 ? "page" : "pages");
        if (hotFrom && *hotFrom >= bucket.first && *hotFrom <= bucket.last)
            line += fmt::format("  <- hot from k={} (T)", *hotFrom);
        lines.push_back(std::move(line));
    }
    return lines;
}

std::vector<std::string> idleAgeChart(const std::vector<std::pair<unsigned, std::uint64_t>>& ages,
                                      const ChartStyle& style) {
    std::uint64_t largest = 0;
    std::size_t labelWidth = 0, bytesWidth = 0;
    for (const auto& [age, bytes] : ages) {
        largest = std::max(largest, bytes);
        labelWidth = std::max(labelWidth, fmt::formatted_size(">= {} cycles", age));
        bytesWidth = std::max(bytesWidth, humanBytes(bytes).size());
    }
    std::vector<std::string> lines;
    for (const auto& [age, bytes] : ages) {
        lines.push_back(fmt::format(
            "{:<{}}  {}  {:>{}}", fmt::format(">= {} {}", age, age == 1 ? "cycle" : "cycles"),
            labelWidth, bar(bytes, largest, style), humanBytes(bytes), bytesWidth));
    }
    return lines;
}

}  // namespace etmem::cli
