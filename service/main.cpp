// SPDX-License-Identifier: MulanPSL-2.0
// etmemd: the etmem service. See daemon.cpp for its lifecycle.
#include <sdbus-c++/Error.h>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
    using namespace etmem::service;
    ParsedOptions parsed = parseDaemonOptions(std::vector<std::string>(argv + 1, argv + argc));
    if (!parsed.options) {
        std::fputs(parsed.output.c_str(), parsed.exitCode == 0 ? stdout : stderr);
        return parsed.exitCode;
    }
    try {
        return runDaemon(*parsed.options);
    } catch (const sdbus::Error& e) {
        std::fprintf(stderr, "etmemd: D-Bus error %s: %s\n", e.getName().c_str(),
                     e.getMessage().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "etmemd: %s\n", e.what());
    }
    return EXIT_FAILURE;
}
