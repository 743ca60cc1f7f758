// Sizes both sides enforce, so the CLI refuses early exactly what the daemon would refuse.
#pragma once

#include <cstddef>

namespace etmem {

// A config larger than this is refused before it is parsed (an etmem config is a few lines).
inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

}  // namespace etmem
