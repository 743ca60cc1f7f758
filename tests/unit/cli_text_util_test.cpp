// SPDX-License-Identifier: MulanPSL-2.0
// Table cells show every control character a terminal would act on as '?'.
#include "text_util.hpp"

#include <gtest/gtest.h>

namespace etmem::cli {
namespace {

TEST(PrintableCell, ControlCharactersOfAsciiAndUnicodeShowAsQuestionMarks) {
    EXPECT_EQ(printableCell("a\x1b[2Jb\x7f"), "a?[2Jb?");
    // C1: U+0080, U+009B (CSI, which some terminals obey) and U+009F.
    EXPECT_EQ(printableCell("x\u0080y\u009b31mz\u009f"), "x?y?31mz?");
    // A byte that is not UTF-8 (a lone 0x9B is CSI to an 8-bit terminal).
    EXPECT_EQ(printableCell("p\x9bq\xc2"), "p?q?");
}

TEST(PrintableCell, PrintableUnicodeStaysAsItIs) {
    const std::string text = "caf\u00e9 \u00a0\u00a9 \u4e2d\u6587 \U0001F600";
    EXPECT_EQ(printableCell(text), text);
}

}  // namespace
}  // namespace etmem::cli
