// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon's registry row: its keys (damon_keys.cpp) and its maker (damon_engine.cpp).
#pragma once

#include <span>

#include "etmem/engine_registry.hpp"
#include "etmem/engines/damon_engine.hpp"

namespace etmem::damon {

std::span<const EngineKey> damonKeys();
// The keys an etmem 1.1 [engine] section of engine damon may give for its tasks.
std::span<const std::string_view> damonEngineKeys();

std::unique_ptr<TaskEngine> makeDamonTaskEngine(const EngineContext& context,
                                                const EngineHost& host);

}  // namespace etmem::damon
