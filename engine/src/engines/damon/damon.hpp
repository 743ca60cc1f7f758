// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon's registry row: its keys (damon_keys.cpp) and its maker (damon_engine.cpp).
#pragma once

#include <span>

#include "etmem/engine_registry.hpp"
#include "etmem/kernel/paths.hpp"

namespace etmem::damon {

std::span<const EngineKey> damonKeys();

std::unique_ptr<TaskEngine> makeDamonTaskEngine(const EngineContext& context,
                                                const EngineHost& host);

// The engine with its kernel files elsewhere (tests).
std::unique_ptr<TaskEngine> makeDamonEngine(const EngineContext& context,
                                            kernel::KernelPaths paths);

}  // namespace etmem::damon
