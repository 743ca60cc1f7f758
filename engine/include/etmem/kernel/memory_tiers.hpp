// SPDX-License-Identifier: MulanPSL-2.0
// The machine's memory nodes and how fast each is, as the kernel describes them: the nodes
// with memory (/sys/devices/system/node/has_memory), each node's free and total memory
// (nodeN/meminfo), its distances (nodeN/distance), whether it has CPUs (has_cpu), and the
// kernel's memory tiers (/sys/devices/virtual/memory_tiering/memory_tierN/nodelist; a
// higher N is a slower tier: the kernel numbers tiers by abstract distance).
//
// "Slower" is a lower tier when the kernel has tiers; without them (kernels before 6.1, or
// CONFIG_NUMA without tiering) a node is slower than another when it is farther from the
// nearest node with CPUs. Read anew whenever asked: nodes come and go (CXL hotplug).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "etmem/kernel/paths.hpp"

namespace etmem::kernel {

struct MemoryNode {
    int id = -1;
    bool hasMemory = false;
    bool hasCpus = false;
    std::uint64_t totalBytes = 0;
    std::uint64_t freeBytes = 0;
    // The kernel's memory tier (memory_tierN), or -1 when it shows no tiers.
    int tier = -1;
    // Distance to every node, by node number (nodeN/distance; 10 is local).
    std::vector<int> distances;
    // How slow the node is, for comparisons: its tier when the kernel has tiers, else its
    // distance from the nearest node with CPUs. Larger is slower.
    int rank = 0;
};

struct MemoryTiers {
    std::vector<MemoryNode> nodes;  // every online node, ascending id
    bool kernelTiers = false;       // the kernel's memory_tiering directory was there

    const MemoryNode* find(int id) const;
    // The fastest rank among the nodes with memory (nullopt when none has memory).
    std::optional<int> fastestRank() const;
    // Whether node `slow` is slower than node `fast` (both present).
    bool slower(int slow, int fast) const;
    // The nodes with memory, fastest first (then by id): where promotion looks for room.
    std::vector<const MemoryNode*> fastestFirst() const;
    // "0 (DRAM, tier 4, 1.0 GiB, CPUs), 1 (tier 22, 4.0 GiB)": how errors list the nodes.
    std::string describe() const;
};

// A node list as sysfs writes it ("0-2,4"); nullopt when malformed.
std::optional<std::vector<int>> parseNodeList(const std::string& text);

// Reads the machine's nodes and tiers under paths.sys. A machine without NUMA in sysfs
// (no node directory) gives no nodes.
MemoryTiers discoverMemoryTiers(const KernelPaths& paths);

// What keeps `node` from being a destination for cold pages, a sentence naming `key` and
// listing the machine's nodes; "" when it can be one: it must exist, have memory, and be
// slower than the fastest node with memory.
std::string coldNodeProblem(const MemoryTiers& tiers, int node, const std::string& key);
// The same for a hot,cold pair (etmem 1.1's node_pair): both exist with memory, and the cold
// node is slower than the hot one.
std::string nodePairProblem(const MemoryTiers& tiers, int hot, int cold, const std::string& key);

}  // namespace etmem::kernel
