// SPDX-License-Identifier: MulanPSL-2.0
// Named statistics: how a cycle's figures are totalled across cycles and combined over a
// project's tasks, by name, so a new figure needs no new field anywhere.
#include "etmem/figures.hpp"
#include "etmem/task_engine.hpp"

#include <gtest/gtest.h>

#include <string>

namespace etmem {
namespace {

TEST(FigureList, SetKeepsOrderAndReplacesByName) {
    FigureList figures;
    figures.setCount("b", 1);
    figures.setCount("a", 2);
    figures.setCount("b", 3);
    ASSERT_EQ(figures.size(), 2u);
    EXPECT_EQ(figures.begin()->name, "b");
    EXPECT_EQ(figures.count("b"), 3u);
    EXPECT_EQ(figures.count("a"), 2u);
    EXPECT_EQ(figures.count("absent"), 0u);
}

TEST(FigureList, CombineSumsCountsTakesTheLongestAndJoinsText) {
    FigureList first;
    first.setCount("pages", 10);
    first.set(Figure{"duration", std::uint64_t{5}, Combine::Max});
    first.set(Figure{"backend", std::string("damon"), Combine::Join});
    FigureList second;
    second.setCount("pages", 7);
    second.set(Figure{"duration", std::uint64_t{9}, Combine::Max});
    second.set(Figure{"backend", std::string("idle_page"), Combine::Join});
    second.setCount("pages_migrated", 4);

    FigureList project;
    project.combine(first);
    project.combine(second);
    project.combine(second);  // a third task like the second: its backend is named once
    EXPECT_EQ(project.count("pages"), 24u);
    EXPECT_EQ(project.count("duration"), 9u);
    EXPECT_EQ(std::get<std::string>(project.find("backend")->value), "damon, idle_page");
    EXPECT_EQ(project.count("pages_migrated"), 8u);  // a name only one kind of task has
}

TEST(FigureList, AccumulateTotalsOnlyWhatAccumulates) {
    FigureList cycle;
    cycle.setCount("pages_scanned", 100);
    cycle.setCount("pages_migrated", 3, true);
    FigureList totals;
    totals.accumulate(cycle);
    totals.accumulate(cycle);
    EXPECT_EQ(totals.count("total_pages_migrated"), 6u);
    EXPECT_EQ(totals.find("total_pages_scanned"), nullptr);
}

// A mover that reports a figure of its own reaches the totals with no new field.
TEST(FigureList, CycleReportNamesItsCountsThenItsExtras) {
    CycleReport report;
    report.pagesScanned = 8;
    report.pagesSwapped = 2;
    report.bytesSwapped = 8192;
    report.extra.setCount("pages_migrated", 5, true);
    const FigureList figures = report.figures();
    EXPECT_EQ(figures.count(figure::kPagesScanned), 8u);
    EXPECT_EQ(figures.count("pages_migrated"), 5u);
    FigureList totals;
    totals.accumulate(figures);
    EXPECT_EQ(totals.count(figure::kTotalPagesSwapped), 2u);
    EXPECT_EQ(totals.count(figure::kTotalBytesSwapped), 8192u);
    EXPECT_EQ(totals.count("total_pages_migrated"), 5u);
}

}  // namespace
}  // namespace etmem
