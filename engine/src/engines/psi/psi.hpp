// SPDX-License-Identifier: MulanPSL-2.0
// Engine psi's registry row: its keys (psi_keys.cpp) and its maker (psi_engine.cpp).
#pragma once

#include <span>

#include "etmem/engine_registry.hpp"

namespace etmem::psi {

std::span<const EngineKey> psiKeys();

std::unique_ptr<TaskEngine> makePsiTaskEngine(const EngineContext& context, const EngineHost& host);

}  // namespace etmem::psi
