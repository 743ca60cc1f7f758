// SPDX-License-Identifier: MulanPSL-2.0
#include "state_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace etmem::service {
namespace {

class StateStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/etmem-state-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path dir_;
    NullLogger logger_;
};

TEST_F(StateStoreTest, SavedProjectsLoadBackExactly) {
    StateStore store(dir_, logger_);
    SavedProject a{"alpha", "options:\n\tloop : 1\n  \"quoted\" \\ text\n", true};
    SavedProject b{"b/ä weird name", "x: 1\n", false};
    store.save(a);
    store.save(b);
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0], a);
    EXPECT_EQ(loaded[1], b);
}

// Files etmemd writes are read by a short path of its own; any other YAML still loads.
TEST_F(StateStoreTest, OtherYamlFormsOfAFileStillLoad) {
    StateStore store(dir_, logger_);
    std::ofstream(store.fileFor("reordered"))
        << "running: yes\nconfig: 'a: \"1\"'\nname: reordered\n";
    std::ofstream(store.fileFor("escaped"))
        << "name: \"escaped\"\nrunning: false\nconfig: \"\\x41\\u00e4\"\n";
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0], (SavedProject{"escaped", "A\u00e4", false}));
    EXPECT_EQ(loaded[1], (SavedProject{"reordered", "a: \"1\"", true}));
}

// etmemd writes its files by hand; they are YAML all the same, and a YAML reader gets back
// what etmemd's own reader does, for every ASCII byte and for UTF-8.
TEST_F(StateStoreTest, FilesItWritesReadTheSameAsYaml) {
    std::string config;
    for (int c = 1; c < 0x80; ++c) config += static_cast<char>(c);
    config += " \u00e4 \u20ac \U0001F600 ";
    const SavedProject project{"odd \x01\x7f\t\"name\" \\ \u00e4", config, true};
    StateStore store(dir_, logger_);
    store.save(project);
    std::ifstream file(store.fileFor(project.name));
    std::stringstream text;
    text << file.rdbuf();
    YAML::Node root = YAML::Load(text.str());
    EXPECT_EQ(root["name"].as<std::string>(), project.name);
    EXPECT_EQ(root["config"].as<std::string>(), project.configText);
    EXPECT_TRUE(root["running"].as<bool>());
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0], project);
}

TEST_F(StateStoreTest, LongestNamesGetValidFileNames) {
    StateStore store(dir_, logger_);
    std::vector<SavedProject> projects{{std::string(255, 'L'), "a", false},
                                       {std::string(255, '.'), "b", true},
                                       {std::string(254, '.') + "x", "c", false}};
    for (const auto& project : projects) {
        EXPECT_LE(store.fileFor(project.name).filename().string().size(), 255u);
        store.save(project);
    }
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 3u);
    for (const auto& project : projects)
        EXPECT_NE(std::find(loaded.begin(), loaded.end(), project), loaded.end()) << project.name;
}

TEST_F(StateStoreTest, SaveReplacesAndRemoveForgets) {
    StateStore store(dir_, logger_);
    store.save({"p", "one", false});
    store.save({"p", "two", true});
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].configText, "two");
    EXPECT_TRUE(loaded[0].running);
    store.remove("p");
    EXPECT_TRUE(store.load().projects.empty());
    EXPECT_NO_THROW(store.remove("p"));  // already gone is fine
}

TEST_F(StateStoreTest, DamagedFileIsSetAsideAndOthersStillLoad) {
    StateStore store(dir_, logger_);
    store.save({"good", "text", true});
    std::ofstream(dir_ / "bad.project") << "\x01\x02 not: [yaml";
    auto loaded = store.load().projects;
    ASSERT_EQ(loaded.size(), 1u);
    EXPECT_EQ(loaded[0].name, "good");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "bad.project"));
    bool setAside = false;
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        setAside |= entry.path().filename().string().starts_with("bad.project.damaged-");
    EXPECT_TRUE(setAside);
}

TEST_F(StateStoreTest, FileWhoseNameDoesNotMatchIsSetAside) {
    StateStore store(dir_, logger_);
    store.save({"real", "text", false});
    std::filesystem::rename(dir_ / "real.project", dir_ / "other.project");
    EXPECT_TRUE(store.load().projects.empty());
}

TEST_F(StateStoreTest, LeftoverTempFilesAreCleanedUp) {
    StateStore store(dir_, logger_);
    std::ofstream(dir_ / ".tmp-abcdef") << "half written";
    EXPECT_TRUE(store.load().projects.empty());
    EXPECT_FALSE(std::filesystem::exists(dir_ / ".tmp-abcdef"));
}

TEST_F(StateStoreTest, UnusableDirectoryThrowsWithThePath) {
    // A file where the directory should be defeats root too, unlike permissions.
    std::filesystem::remove_all(dir_);
    std::ofstream(dir_) << "not a directory";
    StateStore store(dir_, logger_);
    try {
        store.save({"p", "t", false});
        FAIL() << "save into a non-directory succeeded";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(dir_.string()), std::string::npos) << e.what();
    }
    EXPECT_THROW(store.prepare(), std::runtime_error);
    std::filesystem::remove(dir_);
}

// The file names are the store's, frozen: existing state directories must keep matching
// whatever the bus escaping becomes.
TEST_F(StateStoreTest, FileNameEncodingIsFrozen) {
    EXPECT_EQ(StateStore::encodeFileName("web-1", 250), "web_2d1");
    EXPECT_EQ(StateStore::encodeFileName("", 250), "_");
    EXPECT_EQ(StateStore::encodeFileName("caf\xc3\xa9 x", 250), "caf_c3_a9_20x");
    EXPECT_EQ(StateStore::encodeFileName(std::string(300, 'a'), 40),
              std::string(22, 'a') + "_h" + "ee7717eba7a17e21");
    StateStore store(dir_, logger_);
    EXPECT_EQ(store.fileFor("web-1"), dir_ / "web_2d1.project");
    EXPECT_EQ(StateStore::decodeFileName("caf_c3_a9_20x"), "caf\xc3\xa9 x");
}

TEST_F(StateStoreTest, SecondStoreOnTheSameDirectoryIsRefused) {
    StateStore first(dir_, logger_);
    first.prepare();
    StateStore second(dir_, logger_);
    try {
        second.prepare();
        FAIL() << "two stores locked one directory";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(
            std::string(e.what()).find("another etmemd uses the state directory " + dir_.string()),
            std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir_ / "x.project"));  // nothing else was touched
}

// A read that fails (here a real EIO: /proc/self/mem at address 0) says nothing about the
// file: it is kept, not renamed as damaged, and reported with the name it encodes.
TEST_F(StateStoreTest, ReadErrorKeepsTheFileAndReportsIt) {
    StateStore store(dir_, logger_);
    store.save({"good", "text", false});
    std::filesystem::create_symlink("/proc/self/mem", dir_ / "flaky_2ddisk.project");
    LoadedState state = store.load();
    ASSERT_EQ(state.projects.size(), 1u);
    ASSERT_EQ(state.unreadable.size(), 1u);
    EXPECT_EQ(state.unreadable[0].name, "flaky-disk");
    EXPECT_EQ(state.unreadable[0].reason, std::strerror(EIO));
    EXPECT_TRUE(std::filesystem::is_symlink(dir_ / "flaky_2ddisk.project"));
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
        EXPECT_EQ(entry.path().string().find("damaged"), std::string::npos) << entry.path();
}

TEST_F(StateStoreTest, OversizedFileIsSetAside) {
    StateStore store(dir_, logger_);
    std::ofstream(dir_ / "big.project") << std::string(5 * 1024 * 1024, '#');
    EXPECT_TRUE(store.load().projects.empty());
    EXPECT_FALSE(std::filesystem::exists(dir_ / "big.project"));
}

}  // namespace
}  // namespace etmem::service
