// SPDX-License-Identifier: MulanPSL-2.0
// Claiming DAMON kdamonds, against a temp directory standing in for sysfs and /run: etmem
// creates its pool only when nobody has kdamonds, never rewrites nr_kdamonds otherwise, and a
// claim ends with its lock (as it does when a daemon crashes).
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "etmem/backends/backends.hpp"
#include "etmem/scanners/damon.hpp"

using namespace etmem::backends;
using namespace etmem::kernel;
using namespace etmem::scanners::damon;
namespace fs = std::filesystem;

namespace {

class FakeDamon {
  public:
    explicit FakeDamon(int existingKdamonds) {
        root_ = fs::temp_directory_path() /
                ("slide-damon-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        fs::create_directories(admin());
        write(admin() / "nr_kdamonds", std::to_string(existingKdamonds));
        paths.sys = root_ / "sys";
        paths.proc = root_ / "proc";
        paths.run = root_ / "run";
    }
    ~FakeDamon() { fs::remove_all(root_); }
    fs::path admin() const { return root_ / "sys/kernel/mm/damon/admin/kdamonds"; }
    std::string nrKdamonds() const {
        std::ifstream in(admin() / "nr_kdamonds");
        std::string text;
        in >> text;
        return text;
    }
    static void write(const fs::path& path, const std::string& text) {
        std::ofstream(path) << text;
    }

    KernelPaths paths;

  private:
    static inline int counter_ = 0;
    fs::path root_;
};

}  // namespace

TEST(SlideDamonClaim, CreatesAPoolOnlyWhenNobodyHasKdamonds) {
    FakeDamon damon(0);
    auto first = claimKdamond(damon.paths);
    EXPECT_EQ(damon.nrKdamonds(), std::to_string(kDamonPoolSize));
    EXPECT_EQ(first.dir, damon.admin() / "0");
    EXPECT_TRUE(fs::exists(damon.paths.run / "damon/kdamond-31.lock"));
    auto second = claimKdamond(damon.paths);
    EXPECT_EQ(second.dir, damon.admin() / "1");
    EXPECT_EQ(damon.nrKdamonds(), std::to_string(kDamonPoolSize));  // not rewritten
}

TEST(SlideDamonClaim, AReleasedOrCrashedClaimIsFreeAgain) {
    FakeDamon damon(0);
    {
        auto claim = claimKdamond(damon.paths);
        EXPECT_EQ(claim.dir, damon.admin() / "0");
    }  // the lock closes, as it does when the process dies
    auto again = claimKdamond(damon.paths);
    EXPECT_EQ(again.dir, damon.admin() / "0");
}

TEST(SlideDamonClaim, AnotherToolsKdamondsAreLeftAlone) {
    FakeDamon damon(3);  // someone else's: no lock files of etmem's
    try {
        claimKdamond(damon.paths);
        FAIL() << "claimed a kdamond that is not etmem's";
    } catch (const BackendUnavailable& e) {
        EXPECT_NE(std::string(e.what()).find("DAMON is in use"), std::string::npos);
    }
    EXPECT_EQ(damon.nrKdamonds(), "3");
}

TEST(SlideDamonClaim, AllOfEtmemsKdamondsBusyIsReported) {
    FakeDamon damon(0);
    std::vector<KdamondClaim> claims;
    for (int i = 0; i < kDamonPoolSize; ++i) claims.push_back(claimKdamond(damon.paths));
    EXPECT_THROW(claimKdamond(damon.paths), BackendUnavailable);
}

TEST(SlideDamonClaim, StaleRunningKdamondsOfEtmemAreTurnedOffOthersAreNot) {
    FakeDamon damon(0);
    { auto claim = claimKdamond(damon.paths); }  // creates etmem's pool
    auto held = claimKdamond(damon.paths);       // kdamond 0, in use
    for (int i : {0, 1, 2}) {
        fs::create_directories(damon.admin() / std::to_string(i));
        FakeDamon::write(damon.admin() / std::to_string(i) / "state", "on");
    }
    fs::remove(damon.paths.run / "damon/kdamond-2.lock");  // as if 2 were not etmem's
    EXPECT_EQ(releaseStaleKdamonds(damon.paths), 1);
    auto state = [&](int i) {
        std::ifstream in(damon.admin() / std::to_string(i) / "state");
        std::string word;
        in >> word;
        return word;
    };
    EXPECT_EQ(state(0), "on");   // held by a live claim
    EXPECT_EQ(state(1), "off");  // etmem's, nobody holds it: a crashed daemon's
    EXPECT_EQ(state(2), "on");   // not etmem's
}

TEST(SlideDamonClaim, NothingIsTouchedWhereEtmemNeverCreatedKdamonds) {
    FakeDamon damon(2);
    EXPECT_EQ(releaseStaleKdamonds(damon.paths), 0);
    EXPECT_FALSE(fs::exists(damon.paths.run / "damon"));
}

TEST(SlideDamonProbe, AnotherToolsKdamondsMakeDamonUnavailableOursOrNoneDoNot) {
    if (::geteuid() != 0) GTEST_SKIP() << "the probe checks write access, which needs root here";
    FakeDamon foreign(1);
    auto probe = probeBackends(foreign.paths);
    EXPECT_FALSE(probe.has("damon"));
    bool said = false;
    for (const auto& sentence : probe.sentences())
        said |= sentence.find("DAMON is in use") != std::string::npos;
    EXPECT_TRUE(said);

    FakeDamon none(0);
    EXPECT_TRUE(probeBackends(none.paths).has("damon"));

    FakeDamon ours(0);
    auto claim = claimKdamond(ours.paths);  // creates etmem's pool: 32 kdamonds, ours
    EXPECT_TRUE(probeBackends(ours.paths).has("damon"));
}
