// SPDX-License-Identifier: MulanPSL-2.0
// Small /proc and sysfs readers the engine benchmarks share: what a benchmark measures of a
// process (resident and swapped kB, major faults) and one-line files it reads or writes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace etmem::bench {

inline std::string readLine(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

inline void writeText(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write '" + text + "' to " + path.string());
}

// A "Field:  N kB" line of /proc/PID/status (pid 0: this process), or -1.
inline long statusKb(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
    return -1;
}

// Field 12 of /proc/PID/stat: the major faults so far.
inline unsigned long long majorFaults(pid_t pid) {
    std::string stat = readLine("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int index = 3; index < 12 && rest >> field; ++index) {
    }
    unsigned long long faults = 0;
    rest >> faults;
    return faults;
}

}  // namespace etmem::bench
