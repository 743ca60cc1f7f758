// SPDX-License-Identifier: MulanPSL-2.0
// Adding and removing 1.1 objects on an existing project's config.
#include <fmt/format.h>

#include <algorithm>

#include "config/config_text.hpp"
#include "config/ini_reader.hpp"
#include "config/validator.hpp"
#include "config/yaml_reader.hpp"
#include "etmem/config_ini.hpp"

namespace etmem {
namespace {

config::IniFile readFragment(std::string_view text) {
    config::checkConfigText(text);
    if (!config::looksLikeIni(text)) {
        throw ConfigError(0, 0, "", "",
                          "not an etmem 1.1 file: its first line must be a section header "
                          "such as [project], [engine] or [task]");
    }
    return config::readIniFile(text);
}

[[noreturn]] void failAt(const config::IniName& name, const std::string& path,
                         const std::string& message) {
    throw ConfigError(name.at.line, name.at.column, path, config::displayText(name.name), message);
}

void rejectProjectSection(const config::IniFile& file, std::string_view verb) {
    if (!file.project) return;
    throw ConfigError(file.projectAt.line, file.projectAt.column, "[project]", "",
                      fmt::format("project '{}' exists; a file that {} engines or tasks of it "
                                  "has no [project] section",
                                  config::displayText(file.project->name), verb));
}

bool hasTask(const ProjectConfig& config, const std::string& name) {
    return std::any_of(config.tasks.begin(), config.tasks.end(),
                       [&](const TaskConfig& task) { return task.name == name; });
}

bool namesScanner(const config::ConfigNode& task) {
    return std::any_of(task.entries.begin(), task.entries.end(),
                       [](const config::MapEntry& entry) { return entry.key == "scanner"; });
}

}  // namespace

IniObjects describeIniObjects(std::string_view text) {
    const config::IniFile file = readFragment(text);
    IniObjects objects;
    objects.project = file.projectRef;
    objects.hasProject = file.project.has_value();
    objects.regionScan = file.regionScan;
    for (const auto& engine : file.engines) objects.engines.push_back(engine.name);
    for (const auto& task : file.tasks) objects.tasks.push_back(task.name);
    if (objects.project.empty()) {
        throw ConfigError(0, 0, "", "",
                          "the file names no project: it needs a [project] section or "
                          "project= in its [engine] and [task] sections");
    }
    return objects;
}

ProjectConfig addIniObjects(const ProjectConfig& base, std::string_view text,
                            const ParseOptions& options, bool regionScan) {
    const config::IniFile file = readFragment(text);
    rejectProjectSection(file, "adds");
    for (const auto& task : file.tasks) {
        if (hasTask(base, task.name)) {
            failAt(task, "[task].name",
                   fmt::format("task '{}' exists in the project; remove it first ('etmem obj "
                               "del') or give this task another name",
                               config::displayText(task.name)));
        }
    }
    // The project as its normalized YAML, with the new tasks appended: the one validator
    // then checks them against the project's own keys (T against its loop, say).
    config::ConfigNode tree = config::readYamlTree(toYaml(base));
    config::ConfigNode& policies = tree.entries.at(0).value.entries.back().value;
    policies.kind = config::ConfigNode::Kind::Sequence;
    for (config::ConfigNode node : file.taskNodes) {
        if (regionScan && !namesScanner(node) && config::takesScanner(node)) {
            node.entries.push_back(config::MapEntry{
                "scanner", node.at,
                config::ConfigNode{config::ConfigNode::Kind::Scalar, node.at, "damon", {}, {}}});
        }
        policies.items.push_back(std::move(node));
    }
    return config::validateConfig(tree, options, true);
}

ProjectConfig removeIniObjects(const ProjectConfig& base, std::string_view text) {
    const config::IniFile file = readFragment(text);
    rejectProjectSection(file, "removes");
    ProjectConfig result = base;
    for (const auto& task : file.tasks) {
        if (!hasTask(result, task.name)) {
            failAt(task, "[task].name",
                   fmt::format("the project has no task '{}'", config::displayText(task.name)));
        }
        std::erase_if(result.tasks, [&](const TaskConfig& t) { return t.name == task.name; });
    }
    for (const auto& engine : file.engines) {
        std::erase_if(result.tasks, [&](const TaskConfig& t) { return t.engine == engine.name; });
    }
    return result;
}

}  // namespace etmem
