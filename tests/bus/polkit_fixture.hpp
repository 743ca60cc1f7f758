// SPDX-License-Identifier: MulanPSL-2.0
// GoogleTest fixture for bus tests with polkit in the picture: the private bus carries
// polkit's policy and other users may reach it. It lives apart from polkit_rig.hpp, which
// bench/loop links without GoogleTest.
#pragma once

#include <memory>
#include <string>

#include "bus_fixture.hpp"
#include "polkit_rig.hpp"

namespace etmem::test {

class WithPolkit : public BusTest {
  protected:
    std::string busExtraConfig() const override { return polkitBusConfig(); }
    void SetUp() override;
    // Starts the real polkitd with `rules` (JavaScript) as polkitd_ and waits until it owns
    // its name: a fatal failure, with polkitd's log, if it does not within 20 s.
    void startPolkitd(const std::string& rules);

    std::unique_ptr<PolkitDaemon> polkitd_;
};

}  // namespace etmem::test
