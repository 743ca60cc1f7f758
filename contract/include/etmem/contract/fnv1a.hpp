// SPDX-License-Identifier: MulanPSL-2.0
// FNV-1a, 64 bits: the hash in shortened bus names and state file names. Both are stored or
// seen by others, so it must never change: it is the same on every build and machine.
#pragma once

#include <cstdint>
#include <string_view>

namespace etmem {

constexpr std::uint64_t fnv1a64(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

}  // namespace etmem
