// What `etmem project show` knows about a project: the Project object's properties, as
// plain data so rendering needs no bus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace etmem::cli {

struct TaskInfo {
    std::string type;   // pid | name
    std::string value;  // the pid or the process name
    std::uint32_t maxThreads = 0;
    std::string engine;
    std::uint32_t threshold = 0;  // param T
};

struct ProjectInfo {
    std::string name;
    std::string state;  // stopped | running | failed
    std::uint32_t loop = 0;
    std::uint32_t interval = 0;
    std::uint32_t sleep = 0;
    std::vector<TaskInfo> tasks;
    std::vector<std::uint32_t> pids;
    std::uint64_t cycles = 0;
    // Of the last cycle:
    std::uint64_t pagesScanned = 0;
    std::uint64_t pagesHot = 0;
    std::uint64_t pagesCold = 0;
    std::uint64_t pagesSwapped = 0;
    std::uint64_t bytesSwapped = 0;
    std::uint64_t lastCycleUSec = 0;
    // Since the project was started:
    std::uint64_t totalPagesSwapped = 0;
    std::uint64_t totalBytesSwapped = 0;
    std::string lastError;
};

}  // namespace etmem::cli
