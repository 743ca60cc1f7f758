// SPDX-License-Identifier: MulanPSL-2.0
// Engine damon made with its kernel files elsewhere: tests give it a fake DAMON sysfs tree
// (the registry row makes it with the real paths).
#pragma once

#include <memory>

#include "etmem/kernel/paths.hpp"
#include "etmem/task_engine.hpp"

namespace etmem::damon {

std::unique_ptr<TaskEngine> makeDamonEngine(const EngineContext& context,
                                            kernel::KernelPaths paths);

}  // namespace etmem::damon
