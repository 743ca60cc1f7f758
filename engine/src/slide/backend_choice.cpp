// SPDX-License-Identifier: MulanPSL-2.0
#include "slide/backend_choice.hpp"

#include <fmt/format.h>

#include "etmem/kernel/pagemap.hpp"

namespace etmem::slide {

using namespace etmem::backends;
using namespace etmem::kernel;

SlideBackends chooseBackends(const SlideOptions& options, const ProjectConfig& project) {
    SlideBackends backends;
    BackendProbe probe;
    if (!options.scannerOverride || !options.swapperOverride) probe = probeBackends(options.paths);
    backends.pagemapScan = !options.withoutPagemapScan && pagemapScanAvailable();
    backends.scanner = options.scannerOverride;
    const BackendSettings settings{options.paths, backends.pagemapScan, project};
    if (!backends.scanner)
        backends.scanner = makeScanner(options.scanner, probe, settings, backends.scannerWhy);
    movers::MoverConfig mover;
    mover.destination = movers::Destination::swap();
    mover.swapper = options.swapper;
    mover.paths = options.paths;
    mover.swapperOverride = options.swapperOverride;
    mover.swapActiveOverride = options.swapActiveOverride;
    backends.mover = movers::makeMover(mover, probe, backends.moverWhy);
    return backends;
}

void logBackends(const SlideBackends& backends, Logger& logger, const LogContext& log) {
    logger.log(
        LogLevel::Info, log,
        fmt::format("slide engine: scanner {}, swapper {}{}",
                    backends.scanner ? backends.scanner->name() : "none",
                    backends.mover ? backends.mover->name() : "none",
                    backends.pagemapScan ? "" : ", no PAGEMAP_SCAN (chunked pagemap walks)"));
    if (!backends.scanner) logger.log(LogLevel::Warning, log, backends.scannerWhy);
    if (!backends.mover) logger.log(LogLevel::Warning, log, backends.moverWhy);
}

}  // namespace etmem::slide
