// SPDX-License-Identifier: MulanPSL-2.0
// The state directory holds plain files only: a FIFO, device or symlink in it never blocks
// etmemd's start or stands in for a project.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>

#include "state_store.hpp"

namespace etmem::service {
namespace {

using namespace std::chrono_literals;

class StateFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/etmem-statefiles-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Runs `work` with a deadline: a FIFO opened for reading would wait for a writer
    // forever, so on timeout a writer comes (and the test fails) instead of a hang.
    void finishesAtOnce(const std::filesystem::path& fifo, std::function<void()> work) {
        auto done = std::async(std::launch::async, std::move(work));
        if (done.wait_for(5s) != std::future_status::ready) {
            ADD_FAILURE() << "blocked on " << fifo;
            int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            done.wait();
            ::close(writer);
        }
        done.get();
    }

    std::filesystem::path dir_;
    NullLogger logger_;
};

TEST_F(StateFilesTest, AFifoAsTheLockFileIsAnErrorNotAHang) {
    const auto lock = dir_ / ".lock";
    ASSERT_EQ(::mkfifo(lock.c_str(), 0600), 0);
    StateStore store(dir_, logger_);
    std::string error;
    finishesAtOnce(lock, [&] {
        try {
            store.prepare();
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
    });
    EXPECT_NE(error.find("is not a regular file"), std::string::npos) << error;
}

TEST_F(StateFilesTest, ASymlinkAsTheLockFileIsAnError) {
    std::ofstream(dir_ / "elsewhere") << "";
    std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / ".lock");
    StateStore store(dir_, logger_);
    EXPECT_THROW(store.prepare(), std::runtime_error);
}

TEST_F(StateFilesTest, FifosAreNotProjects) {
    StateStore store(dir_, logger_);
    store.prepare();
    store.save(SavedProject{"real", "x: 1\n", false});
    const auto fifo = store.fileFor("fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    LoadedState state;
    finishesAtOnce(fifo, [&] { state = store.load(); });
    ASSERT_EQ(state.projects.size(), 1u);
    EXPECT_EQ(state.projects[0].name, "real");
    EXPECT_TRUE(state.unreadable.empty());
}

// Two names of 255 bytes whose 64-bit FNV-1a hashes are equal (found by a collision search).
const std::string kCollidingA = std::string(239, 'a') + "d9d0833d5010f535";
const std::string kCollidingB = std::string(239, 'a') + "d760242b9663e59f";

TEST_F(StateFilesTest, ShortenedNamesCanShareAFile) {
    StateStore store(dir_, logger_);
    EXPECT_EQ(store.fileFor(kCollidingA), store.fileFor(kCollidingB));
}

TEST_F(StateFilesTest, OnlyShortenedNamesMayShareAFile) {
    EXPECT_FALSE(StateStore::sharesFiles("short"));
    EXPECT_FALSE(StateStore::sharesFiles(std::string(247, 'a')));  // 255 with ".project"
    EXPECT_TRUE(StateStore::sharesFiles(std::string(248, 'a')));
    EXPECT_TRUE(StateStore::sharesFiles(std::string(100, '.')));  // 3 bytes a byte
}

}  // namespace
}  // namespace etmem::service
