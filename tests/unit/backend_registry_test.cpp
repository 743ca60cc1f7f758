// SPDX-License-Identifier: MulanPSL-2.0
// The backends' rows: the names a config may write come from them, one each.
#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "etmem/backends/backends.hpp"

namespace etmem::backends {
namespace {

TEST(BackendRows, NamesAreUniqueAndAConfigMayWriteEachAfterAuto) {
    std::set<std::string_view> names;
    for (const auto& row : kScannerRows) EXPECT_TRUE(names.insert(row.name).second) << row.name;
    for (const auto& row : kSwapperRows) EXPECT_TRUE(names.insert(row.name).second) << row.name;
    ASSERT_EQ(std::size(kScannerNames), std::size(kScannerRows) + 1);
    EXPECT_EQ(kScannerNames[0], "auto");
    for (std::size_t i = 0; i < std::size(kScannerRows); ++i)
        EXPECT_EQ(kScannerNames[i + 1], kScannerRows[i].name);
}

TEST(BackendRows, EveryRowSaysWhatItNeedsAndHowToProbeAndMakeIt) {
    auto check = [](const auto& row) {
        EXPECT_FALSE(row.needs.empty()) << row.name;
        EXPECT_NE(row.probe, nullptr) << row.name;
        EXPECT_NE(row.make, nullptr) << row.name;
    };
    for (const auto& row : kScannerRows) check(row);
    for (const auto& row : kSwapperRows) check(row);
}

}  // namespace
}  // namespace etmem::backends
