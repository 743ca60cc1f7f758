// SPDX-License-Identifier: MulanPSL-2.0
// The make functions of the movers kMovers (movers.cpp) lists, one per mover file.
#pragma once

#include <memory>
#include <string>

#include "etmem/movers/mover.hpp"

namespace etmem::movers {

// swap_mover.cpp: pages to swap through the configured swap backend.
std::unique_ptr<Mover> makeSwapMover(const MoverConfig& config, const backends::BackendProbe& probe,
                                     std::string& why);
// node_mover.cpp: pages to a NUMA node with move_pages(2).
std::unique_ptr<Mover> makeNodeMover(const MoverConfig& config, const backends::BackendProbe& probe,
                                     std::string& why);

}  // namespace etmem::movers
