// SPDX-License-Identifier: MulanPSL-2.0
// Engine cslide's registry row: etmem 1.1's keys (cslide_keys.cpp) read into the slide
// engine's memory tier settings, so cslide is the slide engine with 1.1's way of saying
// where pages go. Its maker is slide's.
#pragma once

#include <span>
#include <string_view>

#include "etmem/engine_registry.hpp"

namespace etmem::cslide {

std::span<const EngineKey> cslideKeys();
// The keys 1.1 writes in cslide's [engine] section.
std::span<const std::string_view> cslideEngineKeys();

}  // namespace etmem::cslide
