// SPDX-License-Identifier: MulanPSL-2.0
// Whether the kernel has somewhere to swap to.
#pragma once

#include <filesystem>
#include <string_view>

namespace etmem::kernel {

// Whether <proc>/swaps lists an active swap device.
bool swapIsActive(const std::filesystem::path& proc = "/proc");

// What the probe and a cycle say when no swap device is active.
inline constexpr std::string_view kNoActiveSwap =
    "no swap device is active: cold pages cannot be swapped out; turn on a swap device (zram "
    "or a swap partition/file, see swapon(8))";

}  // namespace etmem::kernel
