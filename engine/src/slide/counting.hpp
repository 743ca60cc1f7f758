// SPDX-License-Identifier: MulanPSL-2.0
// Counting: a cycle's scan rounds become a weighted access count per resident candidate page
// of each target (weight 1 for a read, 3 for a write where the scanner tells them apart;
// weightOf and addWeight in slide_engine.hpp), kept in page_counts.hpp's chunks.
//
// How it stops: discovery reads smaps once; the baseline walks pagemap in chunks of at most
// 16 MiB of address space and returns between them; a scan round is the scanner's, which
// checks the stop token between chunks of at most 16 MiB or 4 KiB of bitmap.
#pragma once

#include <stop_token>

#include "slide/cycle_target.hpp"

namespace etmem::slide {

// Candidate discovery (smaps) and the baseline: opens the target's pagemap, learns its
// present pages for a region scanner, and starts the scanner's session. Throws
// TargetSkipped when the candidates are too large to walk without PAGEMAP_SCAN.
void startCounting(TargetState& state, const kernel::KernelPaths& paths, bool pagemapScan,
                   backends::AccessScanner& scanner, std::stop_token stop);

// One scan round: adds what the scanner saw since the last round to the counts.
void countRound(TargetState& state, std::stop_token stop);

}  // namespace etmem::slide
