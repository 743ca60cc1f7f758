// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/swap.hpp"

#include <fstream>
#include <string>

namespace etmem::kernel {

bool swapIsActive(const std::filesystem::path& proc) {
    std::ifstream swaps(proc / "swaps");
    std::string line;
    std::getline(swaps, line);  // header
    while (std::getline(swaps, line))
        if (!line.empty()) return true;
    return false;
}

}  // namespace etmem::kernel
