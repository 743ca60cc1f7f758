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

ProjectConfig parseConfig(std::string_view text, const ParseOptions& options) {
    config::checkConfigText(text);
    text = withoutByteOrderMark(text);
    const ConfigFormat format = detectFormat(text);
    if (format == ConfigFormat::Ini) return parseIniProject(text, options);
    const config::ConfigNode tree =
        format == ConfigFormat::Legacy ? config::readLegacyTree(text) : config::readYamlTree(text);
    return config::validateConfig(tree, options);
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
