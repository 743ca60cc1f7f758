// SPDX-License-Identifier: MulanPSL-2.0
// The reader-neutral tree both config readers build and the one validator reads.
//
// Keeping the two file forms apart from the rules means the rules (ranges, required keys,
// unknown-key suggestions, positions) exist once, and both forms report a fault the same way.
#pragma once

#include <string>
#include <vector>

namespace etmem::config {

// 1-based line and column (columns count bytes; a tab is one column). 0 means "no position".
struct Position {
    int line = 0;
    int column = 0;
};

struct MapEntry;

struct ConfigNode {
    enum class Kind { Null, Scalar, Map, Sequence };

    Kind kind = Kind::Null;
    Position at;                    // where the value starts (or would start, for Null)
    std::string scalar;             // Kind::Scalar
    std::vector<MapEntry> entries;  // Kind::Map, in document order; duplicates are kept
    std::vector<ConfigNode> items;  // Kind::Sequence
};

struct MapEntry {
    std::string key;
    Position keyAt;
    ConfigNode value;
};

}  // namespace etmem::config
