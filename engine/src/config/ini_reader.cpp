// SPDX-License-Identifier: MulanPSL-2.0
#include "config/ini_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <span>

#include "config/config_schema.hpp"
#include "config/config_text.hpp"
#include "config/suggest.hpp"
#include "etmem/config.hpp"

namespace etmem::config {
namespace {

using Kind = ConfigNode::Kind;

constexpr std::string_view kBlanks = " \t";
constexpr std::string_view kSections[] = {"project", "engine", "task"};
// Keys each section takes (1.1's names; scanner and swapper are this etmem's own).
constexpr std::string_view kProjectKeys[] = {"name",
                                             "scan_type",
                                             "loop",
                                             "interval",
                                             "sleep",
                                             "sysmem_threshold",
                                             "swapcache_high_wmark",
                                             "swapcache_low_wmark",
                                             "sample_interval",
                                             "aggr_interval",
                                             "update_interval",
                                             "min_nr_regions",
                                             "max_nr_regions"};
constexpr std::string_view kEngineKeys[] = {"name", "project"};
// [task]'s keys: these, then the engines' Param keys (T), max_threads and the engines' other
// keys (etmem/engine_registry.hpp).
constexpr std::string_view kTaskHeadKeys[] = {"project", "engine", "name", "type", "value"};

std::vector<std::string_view> taskKeys() {
    std::vector<std::string_view> keys(std::begin(kTaskHeadKeys), std::end(kTaskHeadKeys));
    const auto add = [&](std::string_view key) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    };
    for (std::string_view key : paramKeys()) add(key);
    add("max_threads");
    for (const EngineRow& engine : engineRows()) {
        for (const EngineKey& key : engine.keys)
            if (key.placement != KeyPlacement::Param) add(key.name);
    }
    return keys;
}

// scan_type values: page (default) and region (DAMON). 1.1's psi engine is not provided.
constexpr std::string_view kScanTypes[] = {"page", "region"};

struct IniLine {
    std::string_view key;
    std::string_view value;
    Position keyAt;
    Position valueAt;
};

struct Section {
    std::string_view name;
    Position at;
    std::vector<IniLine> lines;
};

[[noreturn]] void failAt(Position at, const std::string& path, std::string_view value,
                         const std::string& message) {
    throw ConfigError(at.line, at.column, path, displayText(value), message);
}

std::string_view trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(kBlanks);
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

bool isWord(std::string_view word) {
    return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    });
}

bool isCommentOrBlank(std::string_view line) {
    const std::string_view body = trim(line);
    return body.empty() || body.front() == '#' || body.front() == ';';
}

// "[name]" (blanks allowed around and inside the brackets) -> name.
std::optional<std::string_view> headerName(std::string_view line) {
    const std::string_view body = trim(line);
    if (body.size() < 2 || body.front() != '[' || body.back() != ']') return std::nullopt;
    return trim(body.substr(1, body.size() - 2));
}

int column(std::string_view line, std::string_view part) {
    return static_cast<int>(part.data() - line.data()) + 1;
}

std::vector<std::string_view> keysOf(std::string_view section) {
    if (section == "project") return {std::begin(kProjectKeys), std::end(kProjectKeys)};
    if (section == "engine") {
        std::vector<std::string_view> keys(std::begin(kEngineKeys), std::end(kEngineKeys));
        for (const EngineRow& engine : engineRows())
            for (std::string_view key : engine.iniEngineKeys)
                if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
        return keys;
    }
    return taskKeys();
}

std::vector<Section> readSections(std::string_view text) {
    std::vector<Section> sections;
    forEachLine(text, [&](std::string_view line, int number) {
        if (isCommentOrBlank(line)) return;
        if (const auto header = headerName(line)) {
            const Position at{number, column(line, trim(line))};
            if (std::find(std::begin(kSections), std::end(kSections), *header) ==
                std::end(kSections)) {
                std::string message = fmt::format("unknown section '[{}]'", displayText(*header));
                if (const auto near = nearestKey(*header, kSections))
                    message += fmt::format("; did you mean '[{}]'?", *near);
                else
                    message += "; allowed [project], [engine] and [task]";
                failAt(at, std::string(*header), "", message);
            }
            sections.push_back(Section{*header, at, {}});
            return;
        }
        const std::size_t equals = line.find('=');
        const std::string_view body = trim(line);
        const Position lineAt{number, column(line, body)};
        if (equals == std::string_view::npos) {
            failAt(lineAt, "", body,
                   fmt::format("'{}' is not a 'key=value' line or a '[section]' header (this "
                               "file is read as etmem 1.1's form)",
                               displayText(body)));
        }
        const std::string_view key = trim(line.substr(0, equals));
        if (!isWord(key)) {
            failAt(
                lineAt, "", body,
                fmt::format("'{}' is not a key name (letters, digits and '_')", displayText(key)));
        }
        if (sections.empty()) {
            failAt(lineAt, std::string(key), "",
                   fmt::format("key '{}' comes before any section; start the file with "
                               "[project], [engine] or [task]",
                               displayText(key)));
        }
        const std::string_view rest = line.substr(equals + 1);
        const std::string_view value = trim(rest);
        const int valueColumn =
            value.empty() ? static_cast<int>(line.size()) + 1 : column(line, value);
        sections.back().lines.push_back(
            IniLine{key, value, {number, column(line, key)}, {number, valueColumn}});
    });
    return sections;
}

std::string pathOf(const Section& section, std::string_view key) {
    return fmt::format("[{}].{}", section.name, key);
}

const IniLine* findLine(const Section& section, std::string_view key) {
    for (const IniLine& line : section.lines) {
        if (line.key == key) return &line;
    }
    return nullptr;
}

void checkKeys(const Section& section) {
    const std::vector<std::string_view> keys = keysOf(section.name);
    for (const IniLine& line : section.lines) {
        if (std::find(keys.begin(), keys.end(), line.key) == keys.end()) {
            std::string message = unknownKeyMessage(line.key, keys);
            for (std::string_view other : kSections) {
                const std::vector<std::string_view> otherKeys = keysOf(other);
                if (other != section.name &&
                    std::find(otherKeys.begin(), otherKeys.end(), line.key) != otherKeys.end()) {
                    message = fmt::format("key '{}' does not belong in [{}]; it goes in [{}]",
                                          line.key, section.name, other);
                    break;
                }
            }
            failAt(line.keyAt, pathOf(section, line.key), line.value, message);
        }
    }
}

const IniLine& requireLine(const Section& section, std::string_view key) {
    const IniLine* line = findLine(section, key);
    if (line == nullptr) {
        failAt(section.at, pathOf(section, key), "",
               fmt::format("required key '{}' is missing from the [{}] section that starts here",
                           key, section.name));
    }
    return *line;
}

IniName readName(const Section& section, std::string_view key) {
    const IniLine& line = requireLine(section, key);
    const bool hasControl = std::any_of(line.value.begin(), line.value.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (line.value.empty() || line.value.size() > kMaxObjectNameLength || hasControl) {
        failAt(line.valueAt, pathOf(section, key), line.value,
               fmt::format("value '{}' is not a valid name; allowed 1..{} bytes without "
                           "control characters",
                           displayText(line.value), kMaxObjectNameLength));
    }
    return IniName{std::string(line.value), line.valueAt};
}

ConfigNode scalarNode(const IniLine& line) {
    if (line.value.empty()) return ConfigNode{Kind::Null, line.valueAt, {}, {}, {}};
    return ConfigNode{Kind::Scalar, line.valueAt, std::string(line.value), {}, {}};
}

MapEntry entryOf(const IniLine& line) {
    return MapEntry{std::string(line.key), line.keyAt, scalarNode(line)};
}

// A [task] as the task map the other forms give: its engine's Param keys (T) under param:.
// With an engine this etmem lacks, every engine's Param keys go there, and the validator
// names the engine.
ConfigNode taskNode(const Section& section, const IniName& name, const EngineRow* engine) {
    const std::vector<std::string_view> paramNames = engine ? paramKeysOf(*engine) : paramKeys();
    std::optional<Position> paramAt;
    for (std::string_view key : paramNames) {
        if (!isRequiredBy(engine, key)) continue;
        const Position at = requireLine(section, key).keyAt;
        paramAt = paramAt.value_or(at);
    }
    ConfigNode task{Kind::Map, section.at, {}, {}, {}};
    task.entries.push_back(
        MapEntry{"name", name.at, ConfigNode{Kind::Scalar, name.at, name.name, {}, {}}});
    ConfigNode param{Kind::Map, {}, {}, {}, {}};
    const auto given = [&](std::string_view key) {
        return std::any_of(param.entries.begin(), param.entries.end(),
                           [&](const MapEntry& entry) { return entry.key == key; });
    };
    for (const IniLine& line : section.lines) {
        if (line.key == "project" || line.key == "name") continue;
        if (std::find(paramNames.begin(), paramNames.end(), line.key) == paramNames.end())
            task.entries.push_back(entryOf(line));
        else if (!given(line.key))  // as etmem has always read [task]: a repeated T is ignored
            param.entries.push_back(entryOf(line));
    }
    if (!param.entries.empty()) {
        param.at = paramAt.value_or(param.entries.front().keyAt);
        task.entries.push_back(MapEntry{"param", param.at, std::move(param)});
    }
    return task;
}

class IniBuilder {
  public:
    IniFile build(const std::vector<Section>& sections) && {
        for (const Section& section : sections) checkKeys(section);
        for (const Section& section : sections) {
            if (section.name == "project") readProject(section);
        }
        for (const Section& section : sections) {
            if (section.name == "engine") readEngine(section);
            if (section.name == "task") readTask(section);
        }
        return std::move(file_);
    }

  private:
    void readProject(const Section& section) {
        if (file_.project) {
            failAt(section.at, "[project]", "",
                   fmt::format("a file describes one project; [project] is given twice (first "
                               "at line {})",
                               file_.projectAt.line));
        }
        file_.project = readName(section, "name");
        file_.projectAt = section.at;
        file_.projectRef = file_.project->name;
        for (const IniLine& line : section.lines) {
            if (line.key == "name") continue;
            if (line.key == "scan_type") {
                readScanType(section, line);
                continue;
            }
            file_.options.push_back(entryOf(line));
        }
    }

    void readScanType(const Section& section, const IniLine& line) {
        if (std::find(std::begin(kScanTypes), std::end(kScanTypes), line.value) ==
            std::end(kScanTypes)) {
            failAt(line.valueAt, pathOf(section, "scan_type"), line.value,
                   fmt::format("value '{}' is not a scan type this etmem has; allowed page | "
                               "region (region is the DAMON scanner)",
                               displayText(line.value)));
        }
        regionScan_ = line.value == "region";
        file_.regionScan = regionScan_;
    }

    // Every section names the same project: the file's [project], or the first one named.
    void checkProjectRef(const Section& section) {
        const IniName ref = readName(section, "project");
        if (file_.projectRef.empty()) {
            file_.projectRef = ref.name;
            return;
        }
        if (ref.name != file_.projectRef) {
            failAt(ref.at, pathOf(section, "project"), ref.name,
                   fmt::format("project '{}' is not the project this file is about ('{}'); one "
                               "file adds to one project",
                               displayText(ref.name), displayText(file_.projectRef)));
        }
    }

    void readEngine(const Section& section) {
        checkProjectRef(section);
        IniName engine = readName(section, "name");
        if (findEngine(engine.name) == nullptr) {
            failAt(engine.at, "[engine].name", engine.name,
                   fmt::format("value '{}' is not an engine this etmem has; allowed {}",
                               displayText(engine.name), engineChoices()));
        }
        readEngineKeys(section, *findEngine(engine.name));
        file_.engines.push_back(std::move(engine));
    }

    // An [engine]'s own keys (etmem 1.1's cslide: node_pair...), kept for its tasks.
    void readEngineKeys(const Section& section, const EngineRow& row) {
        for (const IniLine& line : section.lines) {
            if (line.key == "name" || line.key == "project") continue;
            if (std::find(row.iniEngineKeys.begin(), row.iniEngineKeys.end(), line.key) ==
                row.iniEngineKeys.end()) {
                failAt(line.keyAt, pathOf(section, line.key), line.value,
                       fmt::format("key '{}' is not a key of engine {}'s [engine] section",
                                   line.key, row.name));
            }
            engineLines_[std::string(row.name)].push_back(line);
        }
    }

    // The [engine]'s keys a [task] of that engine does not set itself.
    void addEngineKeys(const Section& section, std::string_view engine, ConfigNode& task) const {
        auto found = engineLines_.find(std::string(engine));
        if (found == engineLines_.end()) return;
        for (const IniLine& line : found->second)
            if (findLine(section, line.key) == nullptr) task.entries.push_back(entryOf(line));
    }

    void readTask(const Section& section) {
        checkProjectRef(section);
        IniName name = readName(section, "name");
        for (const IniName& earlier : file_.tasks) {
            if (earlier.name == name.name) {
                failAt(name.at, "[task].name", name.name,
                       fmt::format("task '{}' is given twice (first at line {}); task names are "
                                   "unique in a project",
                                   displayText(name.name), earlier.at.line));
            }
        }
        const IniLine& engine = requireLine(section, "engine");
        // In a whole-project file the engine must be declared there too, as 1.1 requires.
        if (file_.project && !declaresEngine(engine.value)) {
            failAt(engine.valueAt, "[task].engine", engine.value,
                   fmt::format("engine '{}' has no [engine] section in this file; add [engine] "
                               "name={} project={}",
                               displayText(engine.value), displayText(engine.value),
                               displayText(file_.projectRef)));
        }
        ConfigNode task = taskNode(section, name, findEngine(engine.value));
        addEngineKeys(section, engine.value, task);
        if (regionScan_ && findLine(section, "scanner") == nullptr) {
            task.entries.push_back(MapEntry{"scanner", section.at,
                                            ConfigNode{Kind::Scalar, section.at, "damon", {}, {}}});
        }
        file_.tasks.push_back(std::move(name));
        file_.taskNodes.push_back(std::move(task));
    }

    bool declaresEngine(std::string_view name) const {
        return std::any_of(file_.engines.begin(), file_.engines.end(),
                           [&](const IniName& engine) { return engine.name == name; });
    }

    IniFile file_;
    bool regionScan_ = false;
    std::map<std::string, std::vector<IniLine>> engineLines_;
};

}  // namespace

bool looksLikeIni(std::string_view text) {
    bool decided = false, ini = false;
    forEachLine(text, [&](std::string_view line, int) {
        if (decided || isCommentOrBlank(line)) return;
        decided = true;
        const auto header = headerName(line);
        ini = header && isWord(*header);
    });
    return ini;
}

IniFile readIniFile(std::string_view text) {
    const std::vector<Section> sections = readSections(text);
    // Engines are read after the project, but a task's engine may come later in the file
    // than the task: read the engines first so the order of sections does not matter.
    std::vector<Section> ordered;
    for (const Section& section : sections) {
        if (section.name != "task") ordered.push_back(section);
    }
    for (const Section& section : sections) {
        if (section.name == "task") ordered.push_back(section);
    }
    return IniBuilder{}.build(ordered);
}

ConfigNode iniProjectTree(const IniFile& file) {
    const Position at = file.projectAt;
    ConfigNode options{Kind::Map, at, {}, file.options, {}};
    ConfigNode policies{Kind::Sequence, at, {}, {}, file.taskNodes};
    options.entries.push_back(MapEntry{"policies", at, std::move(policies)});
    ConfigNode root{Kind::Map, at, {}, {}, {}};
    root.entries.push_back(MapEntry{"options", at, std::move(options)});
    return root;
}

}  // namespace etmem::config
