// SPDX-License-Identifier: MulanPSL-2.0
// `etmem project show`: per-project and per-task statistics, and the access-count chart.
#include "histogram_chart.hpp"
#include "render.hpp"
#include "text_util.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace etmem::cli {
namespace {

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::size_t count(const std::string& text, std::string_view what) {
    std::size_t found = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++found;
    return found;
}

// The bar of a chart line: between the label's two spaces and the count.
std::string barOf(const std::string& line, std::size_t barWidth) {
    std::size_t start = line.find("  ") + 2;
    std::string rest = line.substr(start);
    // Take barWidth columns (code points), whatever their byte length.
    std::size_t bytes = 0;
    for (std::size_t columns = 0; columns < barWidth && bytes < rest.size(); ++columns)
        bytes += utf8SequenceLength(rest, bytes);
    return rest.substr(0, bytes);
}

std::size_t hashes(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '#'));
}

Statistics cycleStatistics(std::vector<std::uint64_t> histogram, std::uint64_t pageSize = 4096) {
    Statistics stats;
    stats.cycles = 3;
    stats.pagesScanned = std::accumulate(histogram.begin(), histogram.end(), std::uint64_t{0});
    stats.pagesHot = histogram.empty() ? 0 : histogram.back();
    stats.pagesCold = stats.pagesScanned - stats.pagesHot;
    stats.pagesSwapped = stats.pagesCold;
    stats.bytesSwapped = stats.pagesSwapped * pageSize;
    stats.lastCycleUSec = 2'345'000;
    stats.totalPagesSwapped = 3 * stats.pagesSwapped;
    stats.totalBytesSwapped = 3 * stats.bytesSwapped;
    stats.scanner = "idle-page";
    stats.swapper = "madvise";
    stats.histogram = std::move(histogram);
    return stats;
}

ProjectInfo projectWithTasks(std::size_t taskCount) {
    ProjectInfo p;
    p.name = "web";
    p.state = "running";
    p.loop = 2;
    p.interval = 1;
    p.sleep = 5;
    std::vector<std::uint64_t> total(7, 0);
    for (std::size_t t = 0; t < taskCount; ++t) {
        std::string value = fmt::format("{}", 1000 + t);
        p.tasks.push_back({"pid", value, 1, "slide", static_cast<std::uint32_t>(t + 1)});
        // Task t: 100*(t+1) idle pages, a few warm, some hot.
        std::vector<std::uint64_t> histogram = {100 * (t + 1), 10, 0, 5, 0, 0, 20 + t};
        TaskStatistics task{"pid:" + value, cycleStatistics(histogram)};
        task.stats.pids = {static_cast<std::uint32_t>(1000 + t)};
        for (std::size_t k = 0; k < total.size(); ++k) total[k] += histogram[k];
        p.taskStatistics.push_back(task);
        p.stats.pids.push_back(static_cast<std::uint32_t>(1000 + t));
    }
    Statistics summed = cycleStatistics(total);
    summed.pids = p.stats.pids;
    p.stats = summed;
    return p;
}

TEST(CliLocale, Utf8ComesFromTheFirstSetVariable) {
    EXPECT_TRUE(localeIsUtf8("", "", "en_US.UTF-8"));
    EXPECT_TRUE(localeIsUtf8("", "", "de_DE.utf8"));
    EXPECT_TRUE(localeIsUtf8("C.UTF-8", "", ""));
    EXPECT_TRUE(localeIsUtf8("", "UTF-8", "C"));
    EXPECT_TRUE(localeIsUtf8("", "", "sr_RS.UTF-8@latin"));
    EXPECT_FALSE(localeIsUtf8("", "", ""));
    EXPECT_FALSE(localeIsUtf8("C", "", "en_US.UTF-8")) << "LC_ALL wins";
    EXPECT_FALSE(localeIsUtf8("", "POSIX", "en_US.UTF-8")) << "LC_CTYPE wins over LANG";
    EXPECT_FALSE(localeIsUtf8("", "", "en_US.ISO-8859-1"));
    EXPECT_FALSE(localeIsUtf8("", "", "en_US"));
}

TEST(CliChart, BarsScaleToTheLargestBucket) {
    ChartStyle style{BarGlyphs::Ascii, 40, 16};
    std::vector<std::string> lines = histogramChart({12034, 6017, 0, 1}, std::nullopt, style);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_TRUE(lines[0].starts_with("k=0  ")) << lines[0];
    EXPECT_EQ(hashes(lines[0]), 40u);
    EXPECT_EQ(hashes(lines[1]), 20u);
    EXPECT_EQ(hashes(lines[2]), 0u);
    EXPECT_EQ(hashes(lines[3]), 1u) << "a non-empty bucket stays visible";
    EXPECT_TRUE(lines[0].ends_with("12034 pages"));
    EXPECT_TRUE(lines[2].ends_with("    0 pages")) << "counts are right-aligned";
    EXPECT_TRUE(lines[3].ends_with("    1 page"));
    // Labels, bars and counts each start in one column.
    for (const auto& line : lines) EXPECT_EQ(line.find(" pag"), lines[0].find(" pag")) << line;
}

TEST(CliChart, UnicodeBarsUseEighthsAndKeepTheWidth) {
    ChartStyle style{BarGlyphs::Unicode, 10, 16};
    std::vector<std::string> lines = histogramChart({80, 41, 1, 0}, std::nullopt, style);
    ASSERT_EQ(lines.size(), 4u);
    const std::string full = "\xe2\x96\x88";
    EXPECT_EQ(barOf(lines[0], 10),
              full + full + full + full + full + full + full + full + full + full);
    // 41/80 of 80 eighths = 41 eighths: five full blocks and one eighth (U+258F).
    EXPECT_EQ(barOf(lines[1], 10), full + full + full + full + full + "\xe2\x96\x8f" + "    ");
    EXPECT_EQ(barOf(lines[2], 10), "\xe2\x96\x8f         ");
    EXPECT_EQ(barOf(lines[3], 10), std::string(10, ' '));
    for (const auto& line : lines) {
        EXPECT_FALSE(firstInvalidUtf8(line).has_value()) << line;
        // Bars are padded to their width, so the counts start in one column.
        EXPECT_EQ(displayWidth(line.substr(0, line.find(" pag"))),
                  displayWidth(lines[0].substr(0, lines[0].find(" pag"))))
            << line;
    }
}

TEST(CliChart, MarksWhereHotPagesStart) {
    ChartStyle style;
    std::vector<std::string> lines = histogramChart({5, 4, 3, 2}, 2, style);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(count(lines[2], "<- hot from k=2 (T)"), 1u) << lines[2];
    for (std::size_t k : {0u, 1u, 3u}) EXPECT_EQ(lines[k].find("hot"), std::string::npos);
    // A T beyond the chart marks nothing.
    for (const auto& line : histogramChart({5, 4}, 7, style))
        EXPECT_EQ(line.find("hot"), std::string::npos);
}

TEST(CliChart, ManyCountsAreMergedIntoRanges) {
    // loop 120: counts 0..360.
    std::vector<std::uint64_t> histogram(361, 0);
    for (std::size_t k = 0; k < histogram.size(); ++k) histogram[k] = k % 7;
    ChartStyle style{BarGlyphs::Ascii, 40, 16};
    std::vector<std::string> lines = histogramChart(histogram, 100, style);
    ASSERT_LE(lines.size(), 16u);
    ASSERT_GE(lines.size(), 2u);
    EXPECT_TRUE(lines.front().starts_with("k=0-")) << lines.front();
    EXPECT_NE(lines.back().find("-360 "), std::string::npos) << lines.back();
    // The ranges cover every count once: the pages add up.
    std::uint64_t shown = 0;
    for (const auto& line : lines) {
        std::size_t end = line.find(" page");
        std::size_t start = line.find_last_of(' ', end - 1) + 1;
        shown += std::stoull(line.substr(start, end - start));
    }
    EXPECT_EQ(shown, std::accumulate(histogram.begin(), histogram.end(), std::uint64_t{0}));
    EXPECT_EQ(count(fmt::format("{}", fmt::join(lines, "\n")), "<- hot from k=100"), 1u);
}

TEST(CliChart, HugeCountsNeitherOverflowNorMisalign) {
    ChartStyle style{BarGlyphs::Ascii, 40, 2};
    // Merged into one line: the sum saturates instead of wrapping round to a small number.
    std::vector<std::string> merged = histogramChart({kMaxU64, kMaxU64, 1}, std::nullopt, style);
    ASSERT_EQ(merged.size(), 2u);
    EXPECT_NE(merged[0].find(fmt::format("{} pages", kMaxU64)), std::string::npos) << merged[0];
    EXPECT_EQ(hashes(merged[0]), 40u);
    EXPECT_EQ(hashes(merged[1]), 1u);
    EXPECT_EQ(merged[0].size(), merged[1].size() + 1) << "pages vs page";
}

TEST(CliChart, EmptyHistogramHasNoLines) {
    EXPECT_TRUE(histogramChart({}, 1, ChartStyle{}).empty());
}

TEST(CliStatsTable, NoCycleYetMeansNoChart) {
    ProjectInfo p = projectWithTasks(3);
    p.stats = Statistics{};
    for (auto& task : p.taskStatistics) task.stats = Statistics{};
    std::string table = renderTable({p});
    EXPECT_EQ(count(table, "no cycle finished yet"), 4u) << table;  // project + 3 tasks
    EXPECT_EQ(table.find("k=0"), std::string::npos) << table;
    EXPECT_EQ(table.find("last cycle"), std::string::npos) << table;
}

TEST(CliStatsTable, OneTaskShowsTheProjectFiguresOnce) {
    ProjectInfo p = projectWithTasks(1);
    std::string table = renderTable({p});
    std::vector<std::string> lines = linesOf(table);
    ASSERT_EQ(lines.size(), 2u + 3u + 1u + 7u) << table;  // rows, figures, title, k=0..6
    EXPECT_EQ(lines[2],
              "  last cycle:    135 pages scanned, 20 hot, 115 cold; 115 swapped out (460.0 KiB) "
              "in 2.35 s");
    EXPECT_EQ(lines[3], "  since start:   345 pages swapped out (1.3 MiB) in 3 cycles");
    EXPECT_EQ(lines[4], "  backends:      scanner idle-page, swapper madvise");
    EXPECT_NE(lines[5].find("access count"), std::string::npos);
    EXPECT_TRUE(lines[6].starts_with("    k=0  ########################################  100"))
        << lines[6];
    EXPECT_NE(lines[7].find(" 10 pages  <- hot from k=1 (T)"), std::string::npos) << lines[7];
    EXPECT_TRUE(lines[12].starts_with("    k=6  ")) << lines[12];
    EXPECT_EQ(table.find("task 1"), std::string::npos) << "no repeat of the same figures";
    p.stats.cycles = 1;
    EXPECT_NE(renderTable({p}).find(" in 1 cycle\n"), std::string::npos);
    for (const auto& line : lines) EXPECT_NE(line.back(), ' ') << "trailing space: " << line;
}

TEST(CliStatsTable, SeveralTasksEachGetTheirFiguresAndChart) {
    ProjectInfo p = projectWithTasks(3);
    p.taskStatistics[1].stats.lastError = "no swap device is active";
    p.taskStatistics[2].stats.scanner = "none";
    std::string table = renderTable({p});
    std::vector<std::string> lines = linesOf(table);
    // The project's chart (7 lines, 40 columns) and one per task (7 lines, 20 columns).
    EXPECT_EQ(count(table, "k=0  "), 4u) << table;
    EXPECT_EQ(count(table, "\n  task "), 3u) << table;
    for (std::size_t t = 0; t < 3; ++t) {
        std::string header =
            fmt::format("  task {} of 3 (pid:{}): targets {}", t + 1, 1000 + t, 1000 + t);
        auto at = std::find(lines.begin(), lines.end(), header);
        ASSERT_NE(at, lines.end()) << header << "\n" << table;
        EXPECT_TRUE((at + 1)->starts_with("    last cycle:    ")) << *(at + 1);
        // Each task's chart marks its own T (task t has T = t+1); its largest bar is 20 wide.
        std::string chart;
        for (auto line = at + 1; line != lines.end() && !line->starts_with("  task "); ++line)
            chart += *line + "\n";
        EXPECT_EQ(count(chart, fmt::format("<- hot from k={} (T)", t + 1)), 1u) << chart;
        EXPECT_EQ(count(chart, std::string(20, '#')), 1u) << chart;
        EXPECT_EQ(count(chart, std::string(21, '#')), 0u) << chart;
    }
    // Tasks differ in T, so the summed chart has no single hot line.
    std::string projectPart = table.substr(0, table.find("\n  task "));
    EXPECT_EQ(projectPart.find("hot from"), std::string::npos) << projectPart;
    EXPECT_EQ(count(projectPart, std::string(40, '#')), 1u) << projectPart;
    EXPECT_NE(table.find("    last error:    no swap device is active"), std::string::npos);
    EXPECT_NE(table.find("    backends:      scanner none, swapper madvise"), std::string::npos);
    for (const auto& line : lines) EXPECT_NE(line.back(), ' ') << "trailing space: " << line;
}

TEST(CliStatsTable, EmptyHistogramAfterACycleSaysSo) {
    ProjectInfo p = projectWithTasks(1);
    p.stats.histogram.clear();
    p.stats.scanner.clear();
    p.stats.swapper.clear();
    std::string table = renderTable({p});
    EXPECT_NE(table.find("  access counts: none reported for the last cycle\n"), std::string::npos)
        << table;
    EXPECT_EQ(table.find("k=0"), std::string::npos);
    EXPECT_EQ(table.find("backends"), std::string::npos) << "an older daemon names none";
}

TEST(CliStatsTable, LargeNumbersInHumanUnits) {
    ProjectInfo p = projectWithTasks(1);
    p.stats.pagesSwapped = 3ull << 30;
    p.stats.bytesSwapped = 12ull << 40;
    p.stats.totalPagesSwapped = kMaxU64;
    p.stats.totalBytesSwapped = kMaxU64;
    p.stats.lastCycleUSec = 3'600'000'000ull;
    p.stats.histogram = {kMaxU64 / 2, kMaxU64};
    std::string table = renderTable({p});
    EXPECT_NE(table.find(fmt::format("{} swapped out (12.0 TiB) in 3600.00 s", 3ull << 30)),
              std::string::npos)
        << table;
    EXPECT_NE(table.find(fmt::format("{} pages swapped out (16.0 EiB)", kMaxU64)),
              std::string::npos)
        << table;
    std::vector<std::string> lines = linesOf(table);
    ASSERT_GE(lines.size(), 2u);
    const std::string& half = lines[lines.size() - 2];
    const std::string& largest = lines.back();
    EXPECT_EQ(hashes(half), 20u) << "half the largest, half the bar: " << half;
    EXPECT_EQ(hashes(largest), 40u) << largest;
    EXPECT_NE(largest.find(fmt::format(" {} pages", kMaxU64)), std::string::npos) << largest;
    EXPECT_EQ(half.find(" pages"), largest.find(" pages"));
}

TEST(CliStatsTable, UnicodeBarsOnlyWhenAsked) {
    ProjectInfo p = projectWithTasks(1);
    EXPECT_EQ(renderTable({p}).find("\xe2\x96"), std::string::npos);
    std::string table = renderTable({p}, BarGlyphs::Unicode);
    EXPECT_NE(table.find("\xe2\x96\x88"), std::string::npos);
    EXPECT_EQ(table.find('#'), std::string::npos);
    EXPECT_FALSE(firstInvalidUtf8(table).has_value());
}

}  // namespace
}  // namespace etmem::cli
