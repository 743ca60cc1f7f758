// SPDX-License-Identifier: MulanPSL-2.0
// The access-count histogram of a cycle as a small text bar chart, one line per count; and
// the idle-age report (bytes cold for at least 1, 2, 4 ... cycles) the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace etmem::cli {

// Block characters draw finer bars, but only a UTF-8 terminal shows them; elsewhere '#'.
enum class BarGlyphs { Ascii, Unicode };

// Whether the C library would treat text as UTF-8 given these environment values (empty =
// unset): LC_ALL wins over LC_CTYPE, which wins over LANG; "C"/"POSIX"/unset are not UTF-8.
bool localeIsUtf8(std::string_view lcAll, std::string_view lcCtype, std::string_view lang);

struct ChartStyle {
    BarGlyphs glyphs = BarGlyphs::Ascii;
    std::size_t barWidth = 40;  // columns of the largest bucket's bar
    std::size_t maxLines = 16;  // more buckets than this are merged into ranges of k
};

// One line per bucket (or range of buckets), without indentation or newline:
//   "k=0  ########################################  12034 pages"
// Bars are scaled to the largest bucket; a non-empty bucket always shows at least a sliver.
// hotFrom (the task's T) marks the line from which pages count as hot.
std::vector<std::string> histogramChart(const std::vector<std::uint64_t>& histogram,
                                        std::optional<std::uint32_t> hotFrom,
                                        const ChartStyle& style);

// One line per age, bars scaled to the largest (the youngest: the report is cumulative):
//   ">= 4 cycles  ##########                                12.0 MiB"
std::vector<std::string> idleAgeChart(const std::vector<std::pair<unsigned, std::uint64_t>>& ages,
                                      const ChartStyle& style);

}  // namespace etmem::cli
