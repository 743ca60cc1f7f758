// SPDX-License-Identifier: MulanPSL-2.0
#include "engines/slide/slide.hpp"

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
    return makeSlideEngine(context, std::move(options));
}

}  // namespace etmem::slide
