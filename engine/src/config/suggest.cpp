// SPDX-License-Identifier: MulanPSL-2.0
#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "config/config_text.hpp"

namespace etmem::config {
namespace {

// Keys longer than this are not typos of any config key; skip the quadratic distance.
constexpr std::size_t kMaxComparedKeyLength = 64;
constexpr std::size_t kMaxTypoDistance = 2;

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Levenshtein distance, case-insensitive, with one rolling row.
std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution =
                diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
            diagonal = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
        }
    }
    return row[b.size()];
}

}  // namespace

std::optional<std::string_view> nearestKey(std::string_view key,
                                           std::span<const std::string_view> candidates) {
    if (key.size() > kMaxComparedKeyLength) return std::nullopt;
    std::optional<std::string_view> best;
    std::size_t bestDistance = kMaxTypoDistance + 1;
    for (std::string_view candidate : candidates) {
        const std::size_t distance = editDistance(key, candidate);
        // A distance as large as the word itself is a different word, not a typo.
        const bool plausible = distance < std::max(key.size(), candidate.size());
        if (plausible && distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    return best;
}

std::string unknownKeyMessage(std::string_view key, std::span<const std::string_view> allowed) {
    std::string message = "unknown key '" + displayText(key) + "'; ";
    if (const auto suggestion = nearestKey(key, allowed)) {
        return message + "did you mean '" + std::string(*suggestion) + "'?";
    }
    message += "allowed here: ";
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        message += (i == 0 ? "" : ", ") + std::string(allowed[i]);
    }
    return message;
}

}  // namespace etmem::config
