// SPDX-License-Identifier: MulanPSL-2.0
// parseConfig: text checks, then the reader the text is written for, then the one validator.
#include "etmem/config.hpp"

#include <fmt/format.h>

#include "config/config_text.hpp"
#include "config/ini_reader.hpp"
#include "config/legacy_reader.hpp"
#include "config/validator.hpp"
#include "config/yaml_reader.hpp"

namespace etmem {
namespace {

using config::displayText;

std::string errorSentence(int line, int column, const std::string& key,
                          const std::string& message) {
    std::string sentence;
    if (line > 0) sentence += fmt::format("line {}, column {}: ", line, column);
    if (!key.empty()) sentence += key + ": ";
    return sentence + message;
}

std::string_view withoutByteOrderMark(std::string_view text) {
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
    return text;
}

// A 1.1 file given as a whole project: it needs its [project]; tasks may come later.
ProjectConfig parseIniProject(std::string_view text, const ParseOptions& options) {
    const config::IniFile file = config::readIniFile(text);
    if (!file.project) {
        throw ConfigError(0, 0, "", "",
                          fmt::format("this etmem 1.1 file has no [project] section: it adds "
                                      "engines or tasks to project '{}', which "
                                      "'etmem obj add' does",
                                      displayText(file.projectRef)));
    }
    return config::validateConfig(config::iniProjectTree(file), options, true);
}

}  // namespace

ConfigError::ConfigError(int line, int column, std::string key, std::string value,
                         const std::string& message)
    : std::runtime_error(errorSentence(line, column, key, message)),
      line_(line),
      column_(column),
      key_(std::move(key)),
      value_(std::move(value)) {}

// The rule, in order:
//  0. the first line that is not blank or a comment is a `[section]` header -> Ini
//     (etmem 1.1; a YAML flow list there would never be a config: the root is a mapping);
//  1. a tab in some line's indentation, or a known key written `loop:3` -> Legacy
//     (YAML forbids tabs there and would read `loop:3` as one word);
//  2. otherwise, text yaml-cpp accepts -> Yaml;
//  3. otherwise, text whose every line is `key : value`, `key:`, blank or a comment -> Legacy
//     (etmem 1.0 files with uneven space indentation);
//  4. otherwise Yaml, so the YAML reader reports where the syntax broke.
ConfigFormat detectFormat(std::string_view text) {
    text = withoutByteOrderMark(text);
    if (config::looksLikeIni(text)) return ConfigFormat::Ini;
    if (config::hasLegacyOnlyMarks(text)) return ConfigFormat::Legacy;
    if (config::parsesAsYaml(text)) return ConfigFormat::Yaml;
    return config::isLegacyShaped(text) ? ConfigFormat::Legacy : ConfigFormat::Yaml;
}

namespace {

// detectFormat's rule past step 0, with YAML text parsed once: text the YAML reader reads is
// text yaml-cpp accepts (step 2), so that check runs only when the reader refuses the text.
// Parsing twice was a sixth of etmemd's start with 10,000 saved projects.
config::ConfigNode readTree(std::string_view text) {
    if (config::hasLegacyOnlyMarks(text)) return config::readLegacyTree(text);
    try {
        return config::readYamlTree(text);
    } catch (const ConfigError&) {
        // Step 3; otherwise (steps 2 and 4) the YAML reader's own error stands.
        if (!config::parsesAsYaml(text) && config::isLegacyShaped(text))
            return config::readLegacyTree(text);
        throw;
    }
}

}  // namespace

ProjectConfig parseConfig(std::string_view text, const ParseOptions& options) {
    config::checkConfigText(text);
    text = withoutByteOrderMark(text);
    if (config::looksLikeIni(text)) return parseIniProject(text, options);
    return config::validateConfig(readTree(text), options);
}

std::string_view toString(TaskType type) {
    switch (type) {
        case TaskType::Pid:
            return "pid";
        case TaskType::Name:
            return "name";
        case TaskType::Unit:
            return "unit";
        case TaskType::Cgroup:
            return "cgroup";
    }
    return "pid";
}

}  // namespace etmem
