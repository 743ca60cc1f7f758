// SPDX-License-Identifier: MulanPSL-2.0
// The private system bus config of the tests, rendered from the one template the demo uses
// too (scripts/private-system-bus.conf.in), so the tests' bus and the demo's cannot drift.
#pragma once

#include <filesystem>
#include <string>

namespace etmem::test {

// The template with @LISTEN@ = unix:path=<socketPath>, @POLICY_DIR@ = policyDir and the
// <!--@EXTRA@--> placeholder replaced by `extraElements` (e.g. <include>...</include>).
std::string privateSystemBusConfig(const std::filesystem::path& socketPath,
                                   const std::filesystem::path& policyDir,
                                   const std::string& extraElements = "");

}  // namespace etmem::test
