// SPDX-License-Identifier: MulanPSL-2.0
// The engine registry: rows a config can name, each with keys of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "etmem/engine_registry.hpp"

namespace etmem {
namespace {

TEST(EngineRegistry, TaskEngineNamesARow) {
    ASSERT_NE(findEngine("slide"), nullptr);
    EXPECT_EQ(findEngine("slide")->name, "slide");
    EXPECT_EQ(findEngine(TaskConfig{}.engine), findEngine("slide"));
    EXPECT_EQ(findEngine("thirdparty"), nullptr);
    ASSERT_NE(findEngine("cslide"), nullptr);
    EXPECT_EQ(engineChoices(), "slide | cslide | psi | damon");
}

TEST(EngineRegistry, EveryRowHasAMakerAndKeysOfItsOwn) {
    // Keys every task has: an engine's key of the same name would be read twice.
    const std::set<std::string_view> taskKeys = {"type",   "value", "max_threads",
                                                 "engine", "name",  "param"};
    std::set<std::string_view> names;
    for (const EngineRow& row : engineRows()) {
        EXPECT_TRUE(names.insert(row.name).second) << row.name;
        EXPECT_NE(row.make, nullptr) << row.name;
        std::set<std::string_view> keys;
        for (const EngineKey& key : row.keys) {
            EXPECT_TRUE(keys.insert(key.name).second) << row.name << "." << key.name;
            EXPECT_FALSE(taskKeys.contains(key.name)) << row.name << "." << key.name;
            EXPECT_NE(key.read, nullptr) << key.name;
            EXPECT_NE(key.write, nullptr) << key.name;
        }
    }
}

TEST(EngineRegistry, DefaultSettingsAreWrittenOnlyWhereAlwaysWritten) {
    const TaskConfig task;
    std::vector<std::string_view> written;
    for (const EngineKey& key : findEngine("slide")->keys)
        if (key.write(task)) written.push_back(key.name);
    EXPECT_EQ(written, (std::vector<std::string_view>{"T", "swap_flag", "scanner", "swapper"}));
}

TEST(EngineRegistry, ATaskOfNoKnownEngineIsOnlyObserved) {
    const ProjectConfig project;
    TaskConfig task;
    task.engine = "gone";  // a state file from another build, say
    NullLogger logger;
    const auto engine = makeEngineFactory({})(EngineContext{project, task, {}, logger});
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(engine->act({}).pagesScanned, 0u);
}

}  // namespace
}  // namespace etmem
