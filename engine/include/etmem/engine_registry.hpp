// SPDX-License-Identifier: MulanPSL-2.0
// The engines this build has, one explicit row each: a task's `engine` key picks the row.
//
// A row names the engine, makes it for a task and lists the engine's own task keys, so the
// config readers, the validator and the normalized YAML know an engine's keys from the row
// alone. A new engine is a folder under engine/src/engines/ and a row in registry.cpp.
// (Rows are listed, not registered by static constructors: a static library drops object
// files nothing refers to, and their registrars with them.)
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "etmem/config.hpp"
#include "etmem/task_engine.hpp"

namespace etmem {

namespace config {
class KeyValue;  // one given value and the shared value checks (engine/src/config/key_value.hpp)
}

// Where an engine key sits among a task's keys.
enum class KeyPlacement {
    // Under the task's `param:` section in YAML and etmem 1.0's form; a plain key of [task]
    // in etmem 1.1's form.
    Param,
    // A key of the task itself. Normalized YAML writes Leading keys before the task's name
    // and Trailing ones after it, in the table's order, as it did before engines had tables
    // (saved projects and tests compare that text).
    Leading,
    Trailing,
};

struct EngineKey {
    std::string_view name;
    KeyPlacement placement;
    bool required;
    // Checks the given value and stores it in the task; throws ConfigError naming the key.
    // Absent keys are not read: the task keeps the settings struct's default.
    void (*read)(const config::KeyValue& value, TaskConfig& task);
    // The value as normalized YAML writes it; nullopt leaves the key out (it has its default).
    std::optional<std::string> (*write)(const TaskConfig& task);
};

// What the daemon decides for every engine it makes.
struct EngineHost {
    // The scanner a task with `scanner: auto` gets ("auto": probe), from
    // $ETMEM_DEFAULT_SCANNER.
    std::string defaultScanner = "auto";
};

using EngineMaker = std::unique_ptr<TaskEngine> (*)(const EngineContext& context,
                                                    const EngineHost& host);

struct EngineRow {
    std::string_view name;
    EngineMaker make;
    std::span<const EngineKey> keys;
    // Keys of `keys` that etmem 1.1's form writes in the [engine] section rather than in each
    // [task] (cslide's node_pair...): the INI reader takes them there and gives them to each
    // [task] of the engine in the file that does not set them itself.
    std::span<const std::string_view> iniEngineKeys = {};
};

std::span<const EngineRow> engineRows();

// The row of that name; nullptr when this build has no such engine.
const EngineRow* findEngine(std::string_view name);

// The engine names, for messages: "slide", or "slide | cslide".
std::string engineChoices();

// Makes each task's engine from the row its `engine` key names.
TaskEngineFactory makeEngineFactory(EngineHost host);

}  // namespace etmem
