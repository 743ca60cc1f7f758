// SPDX-License-Identifier: MulanPSL-2.0
#include "engines/slide/slide.hpp"

#include "etmem/psi/psi_engine.hpp"
#include "etmem/slide/slide_engine.hpp"

namespace etmem::slide {

using namespace etmem::backends;

std::unique_ptr<TaskEngine> makeSlideTaskEngine(const EngineContext& context,
                                                const EngineHost& host) {
    // The engine probes its backends itself, so a kernel that gains a feature (swap turned
    // on) is used at once.
    const SlideSettings& settings = context.task.slide;
    SlideOptions options;
    options.scanner =
        parseScannerChoice(settings.scanner == "auto" ? host.defaultScanner : settings.scanner);
    options.swapper = parseSwapperChoice(settings.swapper);
    // The engine copies what it needs of the task when it is made.
    TaskConfig task = context.task;
    task.slide.pressureLimit = psi::composedPressureLimit(context.project, context.task);
    const EngineContext composed{context.project, task, context.log, context.logger};
    return makeSlideEngine(composed, std::move(options));
}

}  // namespace etmem::slide
