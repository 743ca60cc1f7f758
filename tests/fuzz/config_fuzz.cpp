// SPDX-License-Identifier: MulanPSL-2.0
// libFuzzer target for the config readers (both forms).
//
// Input: the first byte picks the core count (low 6 bits) and whether every line's leading
// pair of spaces becomes a tab (high bit), which sends YAML-shaped inputs through the etmem
// 1.0 line reader as well. The rest is the config text.
// Contract checked: parseConfig either returns a config or throws ConfigError (anything else
// escapes and libFuzzer reports it); an accepted config's toYaml parses back to an equal
// config and to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "etmem/config.hpp"

namespace {

std::string withTabIndentation(std::string_view text) {
    std::string out;
    bool lineStart = true;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (lineStart && text.substr(i, 2) == "  ") {
            out += '\t';
            ++i;
            continue;
        }
        lineStart = text[i] == '\n' || (lineStart && text[i] == '\t');
        out += text[i];
    }
    return out;
}

void checkRoundTrip(const etmem::ProjectConfig& config, const etmem::ParseOptions& options) {
    const std::string yaml = etmem::toYaml(config);
    const etmem::ProjectConfig again = etmem::parseConfig(yaml, options);  // must not throw
    if (!(again == config) || etmem::toYaml(again) != yaml) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const etmem::ParseOptions options{static_cast<unsigned>(data[0] & 0x3F)};
    std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((data[0] & 0x80) != 0) text = withTabIndentation(text);
    (void)etmem::detectFormat(text);
    try {
        checkRoundTrip(etmem::parseConfig(text, options), options);
    } catch (const etmem::ConfigError& error) {
        // Every rejection is a sentence; an empty one would leave the user with nothing.
        if (std::string_view(error.what()).empty()) std::abort();
    }
    return 0;
}
