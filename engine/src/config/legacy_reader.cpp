// SPDX-License-Identifier: MulanPSL-2.0
#include "config/legacy_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "config/config_schema.hpp"
#include "config/config_text.hpp"
#include "config/suggest.hpp"
#include "etmem/config.hpp"

namespace etmem::config {
namespace {

using Kind = ConfigNode::Kind;

struct LegacyLine {
    std::string_view key;
    std::string_view value;  // empty for a section header such as "policies:"
    Position keyAt;
    Position valueAt;
};

enum class LineShape { Blank, KeyValue, Malformed };
enum class Section { Root, Options, Task, Param };

constexpr std::string_view kBlanks = " \t";
constexpr std::string_view kHeaderKeys[] = {"options", "policies", "param"};

std::string_view trimRight(std::string_view text) {
    const std::size_t last = text.find_last_not_of(kBlanks);
    return last == std::string_view::npos ? std::string_view{} : text.substr(0, last + 1);
}

bool isKeyName(std::string_view key) {
    const auto isWordChar = [](char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    };
    return !key.empty() && !(key[0] >= '0' && key[0] <= '9') &&
           std::all_of(key.begin(), key.end(), isWordChar);
}

// A comment starts at '#' at the start of the text or after a blank, as in YAML, so a '#'
// inside a word (a process name, say) stays part of it.
std::string_view withoutComment(std::string_view body) {
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '#' && (i == 0 || body[i - 1] == ' ' || body[i - 1] == '\t')) {
            return body.substr(0, i);
        }
    }
    return body;
}

// Splits "<indent>key <blanks>:<blanks> value # comment" into its parts.
LineShape splitLine(std::string_view line, int number, LegacyLine& out) {
    const std::size_t indent = line.find_first_not_of(kBlanks);
    if (indent == std::string_view::npos || line[indent] == '#') return LineShape::Blank;
    const std::string_view body = trimRight(withoutComment(line.substr(indent)));
    const std::size_t colon = body.find(':');
    if (colon == std::string_view::npos) return LineShape::Malformed;
    out.key = trimRight(body.substr(0, colon));
    if (!isKeyName(out.key)) return LineShape::Malformed;
    const std::size_t valueStart = body.find_first_not_of(kBlanks, colon + 1);
    out.value = valueStart == std::string_view::npos ? std::string_view{} : body.substr(valueStart);
    out.keyAt = {number, static_cast<int>(indent) + 1};
    out.valueAt = {number, static_cast<int>(indent + std::min(valueStart, body.size())) + 1};
    // One pair of surrounding quotes is dropped, so `value : "mysql"` names mysql.
    if (out.value.size() >= 2 && (out.value.front() == '"' || out.value.front() == '\'') &&
        out.value.back() == out.value.front()) {
        out.value = out.value.substr(1, out.value.size() - 2);
        ++out.valueAt.column;
    }
    return LineShape::KeyValue;
}

bool isKnownIn(std::string_view key, std::span<const std::string_view> keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::optional<Section> sectionOfKnownKey(std::string_view key) {
    if (isKnownIn(key, kRootKeys)) return Section::Root;
    if (isKnownIn(key, kOptionKeys)) return Section::Options;
    if (isKnownIn(key, taskKeys())) return Section::Task;
    if (isKnownIn(key, paramKeys())) return Section::Param;
    return std::nullopt;
}

std::string pathOf(Section section, std::string_view key) {
    static constexpr std::string_view kPrefixes[] = {"", "options.", "options.policies.",
                                                     "options.policies.param."};
    return std::string(kPrefixes[static_cast<int>(section)]) + std::string(key);
}

struct TaskDraft {
    Position at;
    std::vector<MapEntry> entries;
    std::optional<std::size_t> paramIndex;  // the first param entry; T keys go there
    std::vector<MapEntry> param;
};

// Collects lines into sections by key name, then assembles the tree. Entries are kept in
// vectors and joined at the end, so no pointer into a growing vector is ever held.
class LegacyTreeBuilder {
  public:
    void add(const LegacyLine& line) {
        if (!firstKeyAt_) firstKeyAt_ = line.keyAt;
        const std::optional<std::string_view> header = headerNamed(line);
        if (header) return openSection(*header, line);
        const std::optional<Section> known = sectionOfKnownKey(line.key);
        Section target = known.value_or(sectionForUnknown(line.key));
        // A key both sections take (mode) is the project's before the first task, the
        // current task's after it.
        if (target == Section::Options && isKnownIn(line.key, taskKeys()) && isOpen(Section::Task))
            target = Section::Task;
        if (known) requireOpen(target, line);
        if (!isOpen(target)) target = innermost();
        entriesOf(target).push_back(MapEntry{std::string(line.key), line.keyAt, valueNode(line)});
    }

    ConfigNode finish() && {
        for (TaskDraft& task : tasks_) {
            if (task.paramIndex)
                task.entries[*task.paramIndex].value.entries = std::move(task.param);
        }
        if (policiesIndex_) options_[*policiesIndex_].value = tasksNode();
        if (optionsIndex_) root_[*optionsIndex_].value.entries = std::move(options_);
        ConfigNode root{Kind::Map, firstKeyAt_.value_or(Position{1, 1}), {}, std::move(root_), {}};
        return root;
    }

  private:
    // The section a header line opens. A misspelt header ("polices:") still opens the section
    // it was meant to, so its own keys land in place and the validator names the typo.
    static std::optional<std::string_view> headerNamed(const LegacyLine& line) {
        if (!line.value.empty()) return std::nullopt;
        if (isKnownIn(line.key, kHeaderKeys)) return line.key;
        if (sectionOfKnownKey(line.key)) return std::nullopt;
        return nearestKey(line.key, kHeaderKeys);
    }

    static ConfigNode valueNode(const LegacyLine& line) {
        if (line.value.empty()) return ConfigNode{Kind::Null, line.valueAt, {}, {}, {}};
        return ConfigNode{Kind::Scalar, line.valueAt, std::string(line.value), {}, {}};
    }

    static MapEntry sectionEntry(const LegacyLine& line) {
        return MapEntry{std::string(line.key), line.keyAt,
                        ConfigNode{Kind::Map, line.valueAt, {}, {}, {}}};
    }

    void openSection(std::string_view header, const LegacyLine& line) {
        if (header == "options") {
            root_.push_back(sectionEntry(line));
            if (!optionsIndex_) optionsIndex_ = root_.size() - 1;
        } else if (header == "policies") {
            requireOpen(Section::Options, line);
            tasks_.push_back(TaskDraft{line.keyAt, {}, {}, {}});
            if (policiesIndex_) return;
            options_.push_back(sectionEntry(line));
            policiesIndex_ = options_.size() - 1;
        } else {
            requireOpen(Section::Task, line);
            TaskDraft& task = tasks_.back();
            // A second param: in one task stays a separate entry: the validator rejects it.
            task.entries.push_back(sectionEntry(line));
            if (!task.paramIndex) task.paramIndex = task.entries.size() - 1;
        }
    }

    Section sectionForUnknown(std::string_view key) const {
        // etmem 1.0's keys, the engines' param keys (T) among them: a near miss of one of
        // them goes where that key goes.
        static constexpr std::string_view kLegacyKeys[] = {
            "options", "loop",  "interval",    "sleep",  "policies",
            "type",    "value", "max_threads", "engine", "param"};
        std::vector<std::string_view> known(std::begin(kLegacyKeys), std::end(kLegacyKeys));
        for (std::string_view param : paramKeys()) known.push_back(param);
        const std::optional<std::string_view> nearest = nearestKey(key, known);
        return nearest ? *sectionOfKnownKey(*nearest) : innermost();
    }

    bool isOpen(Section section) const {
        switch (section) {
            case Section::Root:
                return true;
            case Section::Options:
                return optionsIndex_.has_value();
            case Section::Task:
                return !tasks_.empty();
            case Section::Param:
                return !tasks_.empty() && tasks_.back().paramIndex.has_value();
        }
        return false;
    }

    Section innermost() const {
        for (Section section : {Section::Param, Section::Task, Section::Options}) {
            if (isOpen(section)) return section;
        }
        return Section::Root;
    }

    void requireOpen(Section section, const LegacyLine& line) const {
        if (isOpen(section)) return;
        static constexpr std::string_view kOpeners[] = {"", "an 'options:'", "a 'policies:'",
                                                        "a 'param:'"};
        static constexpr std::string_view kPlaces[] = {"", "the options section", "a task",
                                                       "a task's param section"};
        const auto index = static_cast<int>(section);
        throw ConfigError(line.keyAt.line, line.keyAt.column, pathOf(section, line.key),
                          displayText(line.value),
                          fmt::format("'{}' belongs to {}; add {} line before it",
                                      displayText(line.key), kPlaces[index], kOpeners[index]));
    }

    std::vector<MapEntry>& entriesOf(Section section) {
        switch (section) {
            case Section::Options:
                return options_;
            case Section::Task:
                return tasks_.back().entries;
            case Section::Param:
                return tasks_.back().param;
            case Section::Root:
                break;
        }
        return root_;
    }

    ConfigNode taskNode(TaskDraft& task) {
        return ConfigNode{Kind::Map, task.at, {}, std::move(task.entries), {}};
    }

    // One policies: line gives one task section, several give a list, as in YAML.
    ConfigNode tasksNode() {
        if (tasks_.size() == 1) return taskNode(tasks_[0]);
        ConfigNode list{Kind::Sequence, tasks_[0].at, {}, {}, {}};
        for (TaskDraft& task : tasks_) list.items.push_back(taskNode(task));
        return list;
    }

    std::optional<Position> firstKeyAt_;
    std::vector<MapEntry> root_;
    std::optional<std::size_t> optionsIndex_;
    std::vector<MapEntry> options_;
    std::optional<std::size_t> policiesIndex_;
    std::vector<TaskDraft> tasks_;
};

bool hasTabIndentation(std::string_view line) {
    const std::size_t indent = line.find_first_not_of(kBlanks);
    return indent != std::string_view::npos &&
           line.substr(0, indent).find('\t') != std::string_view::npos;
}

bool hasUnspacedKnownKey(std::string_view line, int number) {
    LegacyLine parsed;
    if (splitLine(line, number, parsed) != LineShape::KeyValue || parsed.value.empty())
        return false;
    const std::size_t colon = line.find(':');
    const bool unspaced =
        colon + 1 < line.size() && line[colon + 1] != ' ' && line[colon + 1] != '\t';
    return unspaced && sectionOfKnownKey(parsed.key).has_value();
}

}  // namespace

ConfigNode readLegacyTree(std::string_view text) {
    LegacyTreeBuilder builder;
    forEachLine(text, [&](std::string_view line, int number) {
        LegacyLine parsed;
        const LineShape shape = splitLine(line, number, parsed);
        if (shape == LineShape::Malformed) {
            const std::size_t indent = line.find_first_not_of(kBlanks);
            throw ConfigError(number, static_cast<int>(indent) + 1, "",
                              displayText(line.substr(indent)),
                              fmt::format("'{}' is not a 'key : value' or 'section:' line (this "
                                          "file is read as etmem 1.0's line form, which has no "
                                          "YAML lists or braces)",
                                          displayText(line.substr(indent))));
        }
        if (shape == LineShape::KeyValue) builder.add(parsed);
    });
    return std::move(builder).finish();
}

bool hasLegacyOnlyMarks(std::string_view text) {
    bool found = false;
    forEachLine(text, [&](std::string_view line, int number) {
        found = found || (!isBlankOrComment(line) &&
                          (hasTabIndentation(line) || hasUnspacedKnownKey(line, number)));
    });
    return found;
}

bool isLegacyShaped(std::string_view text) {
    bool shaped = true;
    forEachLine(text, [&](std::string_view line, int number) {
        LegacyLine parsed;
        shaped = shaped && splitLine(line, number, parsed) != LineShape::Malformed;
    });
    return shaped;
}

}  // namespace etmem::config
