// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/engine_registry.hpp"

#include <algorithm>

#include "engines/cslide/cslide.hpp"
#include "engines/slide/slide.hpp"

namespace etmem {

std::span<const EngineRow> engineRows() {
    // One row per engine; the keys are the engine's own (its folder documents them).
    static const EngineRow kEngines[] = {
        {"slide", slide::makeSlideTaskEngine, slide::slideKeys()},
        // etmem 1.1's cslide: the slide engine with memory tiers from 1.1's keys.
        {"cslide", slide::makeSlideTaskEngine, cslide::cslideKeys(), cslide::cslideEngineKeys()},
    };
    return kEngines;
}

const EngineRow* findEngine(std::string_view name) {
    const auto rows = engineRows();
    const auto found = std::find_if(rows.begin(), rows.end(),
                                    [&](const EngineRow& row) { return row.name == name; });
    return found == rows.end() ? nullptr : &*found;
}

std::string engineChoices() {
    std::string choices;
    for (const EngineRow& row : engineRows())
        choices += (choices.empty() ? "" : " | ") + std::string(row.name);
    return choices;
}

TaskEngineFactory makeEngineFactory(EngineHost host) {
    return [host = std::move(host)](const EngineContext& context) {
        // The config admits only engines of the registry; a task that still names none
        // (a state file from another build) is observed, not acted on.
        const EngineRow* row = findEngine(context.task.engine);
        return row != nullptr ? row->make(context, host) : makeObserveOnlyEngine(context);
    };
}

}  // namespace etmem
