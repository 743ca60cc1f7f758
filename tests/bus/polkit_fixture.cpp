// SPDX-License-Identifier: MulanPSL-2.0
#include "polkit_fixture.hpp"

#include <sys/stat.h>

#include <chrono>

namespace etmem::test {

void WithPolkit::SetUp() {
    BusTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Users other than root (polkitd's, the callers', polkit's setuid helper's) must reach
    // the bus socket and polkit's files.
    chmod(dir_->path().c_str(), 0755);
}

void WithPolkit::startPolkitd(const std::string& rules) {
    polkitd_ = std::make_unique<PolkitDaemon>(*bus_, dir_->path(), rules);
    ASSERT_TRUE(polkitd_->waitReady(*connection_, std::chrono::seconds(20)))
        << "polkitd did not take its name; its log:\n"
        << readFile(dir_->path() / "polkitd.log");
}

}  // namespace etmem::test
