// SPDX-License-Identifier: MulanPSL-2.0
// Engine slide's registry row: its keys (slide_keys.cpp) and its maker.
#pragma once

#include <span>

#include "etmem/engine_registry.hpp"

namespace etmem::slide {

std::span<const EngineKey> slideKeys();

std::unique_ptr<TaskEngine> makeSlideTaskEngine(const EngineContext& context,
                                                const EngineHost& host);

}  // namespace etmem::slide
