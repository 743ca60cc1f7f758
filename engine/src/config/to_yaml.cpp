// toYaml: the one normalized text of a config. Every key is written, in a fixed order, and
// policies is always a list, so two files meaning the same project give the same text.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>

#include "etmem/config.hpp"

namespace etmem {
namespace {

// Words YAML would read as null or a boolean, so they must be quoted to stay strings.
bool isYamlKeyword(std::string_view word) {
    static constexpr std::string_view kKeywords[] = {"null", "true", "false", "yes", "no",
                                                     "on",   "off",  "y",     "n",   "~"};
    return std::any_of(std::begin(kKeywords), std::end(kKeywords), [&](std::string_view keyword) {
        return std::equal(
            word.begin(), word.end(), keyword.begin(), keyword.end(),
            [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    });
}

bool isPlainWord(std::string_view text) {
    const auto isWordChar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    };
    return !text.empty() && std::isalpha(static_cast<unsigned char>(text[0])) &&
           std::all_of(text.begin(), text.end(), isWordChar) && !isYamlKeyword(text);
}

// A plain word as is; anything else double-quoted with YAML escapes.
std::string yamlString(std::string_view text) {
    if (isPlainWord(text)) return std::string(text);
    std::string quoted = "\"";
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (byte < 0x20 || byte == 0x7F) {
            quoted += fmt::format("\\x{:02X}", byte);
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

// A pid is written as the number it is; anything else as a YAML string.
std::string valueYaml(const TaskConfig& task) {
    const bool isNumber =
        !task.value.empty() && std::all_of(task.value.begin(), task.value.end(),
                                           [](char c) { return c >= '0' && c <= '9'; });
    return task.type == TaskType::Pid && isNumber ? task.value : yamlString(task.value);
}

// The pacing keys only when set, so configs without them read as they always did.
std::string pacingYaml(const TaskConfig& task) {
    std::string yaml;
    if (task.maxSwapRate != 0) yaml += fmt::format("      max_swap_rate: {}\n", task.maxSwapRate);
    if (task.pressureLimit != 0)
        yaml += fmt::format("      pressure_limit: {}\n", task.pressureLimit);
    return yaml;
}

std::string taskYaml(const TaskConfig& task) {
    return fmt::format(
               "    - type: {}\n"
               "      value: {}\n"
               "      max_threads: {}\n"
               "      engine: {}\n"
               "      param:\n"
               "        T: {}\n"
               "      scanner: {}\n"
               "      swapper: {}\n",
               toString(task.type), valueYaml(task), task.maxThreads, yamlString(task.engine),
               task.T, task.scanner, task.swapper) +
           pacingYaml(task);
}

}  // namespace

std::string toYaml(const ProjectConfig& config) {
    std::string yaml = fmt::format(
        "options:\n"
        "  loop: {}\n"
        "  interval: {}\n"
        "  sleep: {}\n"
        "  policies:\n",
        config.loop, config.interval, config.sleep);
    for (const TaskConfig& task : config.tasks) yaml += taskYaml(task);
    return yaml;
}

}  // namespace etmem
