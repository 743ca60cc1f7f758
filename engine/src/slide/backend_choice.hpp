// SPDX-License-Identifier: MulanPSL-2.0
// Backend choice for a slide task: the access scanner and the mover it uses, from the
// options (pinned, auto, or a test's override) and what probing this machine finds, with a
// sentence for each one missing. Made once per task; making them starts nothing.
#pragma once

#include <memory>
#include <string>

#include "etmem/backends/backends.hpp"
#include "etmem/log.hpp"
#include "etmem/movers/mover.hpp"
#include "etmem/slide/slide_engine.hpp"

namespace etmem::slide {

struct SlideBackends {
    std::shared_ptr<backends::AccessScanner> scanner;  // nullptr: scannerWhy says why
    std::shared_ptr<movers::Mover> mover;              // nullptr: moverWhy says why
    std::string scannerWhy;
    std::string moverWhy;
    bool pagemapScan = false;  // the PAGEMAP_SCAN ioctl is there (and not turned off)
};

SlideBackends chooseBackends(const SlideOptions& options, const ProjectConfig& project);

// The journal's line about the backends in use, and a warning for each one missing.
void logBackends(const SlideBackends& backends, Logger& logger, const LogContext& log);

}  // namespace etmem::slide
