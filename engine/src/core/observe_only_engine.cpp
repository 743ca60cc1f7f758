// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/task_engine.hpp"

namespace etmem {
namespace {

// Touches no memory: reports the backends as absent so nobody mistakes it for an engine
// that swapped anything.
class ObserveOnlyEngine final : public TaskEngine {
  public:
    void beginCycle(std::span<const Target>, std::stop_token) override {}
    void scan(std::stop_token) override {}
    CycleReport act(std::stop_token) override { return CycleReport{}; }
};

}  // namespace

std::unique_ptr<TaskEngine> makeObserveOnlyEngine(const EngineContext&) {
    return std::make_unique<ObserveOnlyEngine>();
}

}  // namespace etmem
