// SPDX-License-Identifier: MulanPSL-2.0
// Where the kernel interfaces live; tests point them elsewhere.
#pragma once

#include <filesystem>

namespace etmem::kernel {

struct KernelPaths {
    std::filesystem::path proc = "/proc";
    std::filesystem::path sys = "/sys";
    // Where etmem keeps its claims on DAMON kdamonds (lock files; flock ends with the
    // process, so a crashed daemon's kdamond is free again).
    std::filesystem::path run = "/run/etmem";
};

}  // namespace etmem::kernel
