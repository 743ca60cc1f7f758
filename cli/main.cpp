// SPDX-License-Identifier: MulanPSL-2.0
// etmem: the command-line client of etmemd (a D-Bus proxy).
#include "app.hpp"
#include "bus_client.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return etmem::cli::runEtmem(args, etmem::cli::connectToDaemon, std::cout, std::cerr);
}
