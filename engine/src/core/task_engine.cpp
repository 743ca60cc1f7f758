// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/task_engine.hpp"

namespace etmem {

FigureList CycleReport::figures() const {
    FigureList all;
    all.setCount(figure::kPagesScanned, pagesScanned);
    all.setCount(figure::kPagesHot, pagesHot);
    all.setCount(figure::kPagesCold, pagesCold);
    all.setCount(figure::kPagesSwapped, pagesSwapped, true);
    all.setCount(figure::kBytesSwapped, bytesSwapped, true);
    all.combine(extra);
    return all;
}

}  // namespace etmem
