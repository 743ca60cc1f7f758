// SPDX-License-Identifier: MulanPSL-2.0
// NUMA helpers for the guest tests and the tier benchmarks: move_pages(2) without libnuma, the
// kernel's memory tiers, node lists. Header-only, like guest_memory.hpp.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "guest_memory.hpp"

namespace etmem::vm {

// move_pages(2) flags, from <numaif.h> (not installed on the build hosts).
inline constexpr int kMoveOwnPages = 1 << 1;  // MPOL_MF_MOVE
inline constexpr int kMoveAllPages = 1 << 2;  // MPOL_MF_MOVE_ALL

// move_pages(2): with nodes == nullptr it only reports each page's node in status.
inline long movePages(pid_t pid, std::size_t count, void** pages, const int* nodes, int* status,
                      int flags) {
    return ::syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

// "0-2,5" -> {0, 1, 2, 5}; an empty or blank list -> {}.
inline std::vector<int> parseNodeList(const std::string& text) {
    std::vector<int> nodes;
    std::istringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        part.erase(std::remove_if(part.begin(), part.end(), ::isspace), part.end());
        if (part.empty()) continue;
        auto dash = part.find('-');
        int first = std::stoi(part.substr(0, dash));
        int last = dash == std::string::npos ? first : std::stoi(part.substr(dash + 1));
        for (int node = first; node <= last; ++node) nodes.push_back(node);
    }
    return nodes;
}

// The kernel's memory tiers, fastest first (a lower tier id is a faster tier), each with its
// nodes; empty where the kernel has no memory_tiering in sysfs.
struct MemoryTier {
    int id = 0;
    std::vector<int> nodes;
};
inline std::vector<MemoryTier> memoryTiers() {
    namespace fs = std::filesystem;
    std::map<int, std::vector<int>> byId;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/sys/devices/virtual/memory_tiering", error)) {
        std::string name = entry.path().filename();
        constexpr std::string_view kPrefix = "memory_tier";
        if (name.rfind(kPrefix, 0) != 0 || name.size() == kPrefix.size()) continue;
        byId[std::stoi(name.substr(kPrefix.size()))] =
            parseNodeList(readFile(entry.path() / "nodelist"));
    }
    std::vector<MemoryTier> tiers;
    for (auto& [id, nodes] : byId) tiers.push_back({id, nodes});
    return tiers;
}

// The node of the page at each address (or a negative errno: -ENOENT not present, -EFAULT
// unmapped), asked in batches of move_pages(2) with no target nodes, which moves nothing.
inline std::vector<int> nodesOf(pid_t pid, const std::vector<std::uint64_t>& addresses) {
    constexpr std::size_t kBatch = 4096;
    std::vector<int> nodes(addresses.size(), -1);
    std::vector<void*> batch;
    for (std::size_t first = 0; first < addresses.size(); first += kBatch) {
        std::size_t count = std::min(kBatch, addresses.size() - first);
        batch.resize(count);
        for (std::size_t i = 0; i < count; ++i)
            batch[i] = reinterpret_cast<void*>(addresses[first + i]);
        if (movePages(pid, count, batch.data(), nullptr, nodes.data() + first, 0) != 0)
            std::fill_n(nodes.begin() + static_cast<std::ptrdiff_t>(first), count, -errno);
    }
    return nodes;
}

// The node of each page of [base, base + pages pages), as nodesOf.
inline std::vector<int> pageNodes(pid_t pid, std::uint64_t base, std::size_t pages) {
    std::vector<std::uint64_t> addresses(pages);
    for (std::size_t i = 0; i < pages; ++i) addresses[i] = base + i * pageSize();
    return nodesOf(pid, addresses);
}

// A counter of /proc/vmstat (0 when absent).
inline std::uint64_t vmstat(const std::string& name) {
    std::istringstream in(readFile("/proc/vmstat"));
    std::string key;
    std::uint64_t value = 0;
    while (in >> key >> value)
        if (key == name) return value;
    return 0;
}

}  // namespace etmem::vm
