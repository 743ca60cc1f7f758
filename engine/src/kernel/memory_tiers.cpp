// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/memory_tiers.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "etmem/kernel/files.hpp"

namespace etmem::kernel {
namespace {

namespace fs = std::filesystem;

std::optional<int> parseInt(std::string_view text) {
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
    return value;
}

std::vector<int> nodeListAt(const fs::path& file) {
    return parseNodeList(readFirstLine(file)).value_or(std::vector<int>{});
}

bool contains(const std::vector<int>& list, int id) {
    return std::find(list.begin(), list.end(), id) != list.end();
}

// "Node 0 MemFree:   24004516 kB" -> bytes of the field named, 0 when absent.
std::uint64_t meminfoBytes(const std::string& text, std::string_view field) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::string node, id, name;
        std::uint64_t kib = 0;
        if (words >> node >> id >> name >> kib && name.size() == field.size() + 1 &&
            name.compare(0, field.size(), field) == 0 && name.back() == ':')
            return kib * 1024;
    }
    return 0;
}

std::string readText(const fs::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<int> distancesAt(const fs::path& file) {
    std::istringstream words(readFirstLine(file));
    std::vector<int> distances;
    int distance = 0;
    while (words >> distance) distances.push_back(distance);
    return distances;
}

// The kernel's tiers: node -> N of the memory_tierN holding it.
std::optional<std::vector<std::pair<int, int>>> kernelTiers(const fs::path& sys) {
    const fs::path dir = sys / "devices" / "virtual" / "memory_tiering";
    std::error_code error;
    if (!fs::is_directory(dir, error)) return std::nullopt;
    std::vector<std::pair<int, int>> tierOf;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
        const std::string name = entry.path().filename().string();
        constexpr std::string_view kPrefix = "memory_tier";
        if (name.rfind(kPrefix, 0) != 0) continue;
        const auto tier = parseInt(std::string_view(name).substr(kPrefix.size()));
        if (!tier) continue;
        for (int node : nodeListAt(entry.path() / "nodelist")) tierOf.emplace_back(node, *tier);
    }
    return tierOf;
}

std::string sizeText(std::uint64_t bytes) {
    if (bytes >= (std::uint64_t{1} << 30))
        return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1 << 30));
    return fmt::format("{} MiB", bytes >> 20);
}

}  // namespace

std::optional<std::vector<int>> parseNodeList(const std::string& text) {
    std::vector<int> nodes;
    std::string_view rest = text;
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const std::size_t dash = item.find('-');
        const auto first = parseInt(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parseInt(item.substr(dash + 1));
        if (!first || !last || *last < *first || *last - *first > 4096) return std::nullopt;
        for (int node = *first; node <= *last; ++node) nodes.push_back(node);
    }
    return nodes;
}

MemoryTiers discoverMemoryTiers(const KernelPaths& paths) {
    const fs::path nodeDir = paths.sys / "devices" / "system" / "node";
    MemoryTiers tiers;
    const std::vector<int> online = nodeListAt(nodeDir / "online");
    const std::vector<int> withMemory = nodeListAt(nodeDir / "has_memory");
    const std::vector<int> withCpus = nodeListAt(nodeDir / "has_cpu");
    const auto tierOf = kernelTiers(paths.sys);
    tiers.kernelTiers = tierOf.has_value();
    for (int id : online) {
        MemoryNode node;
        node.id = id;
        node.hasMemory = contains(withMemory, id);
        node.hasCpus = contains(withCpus, id);
        const fs::path dir = nodeDir / fmt::format("node{}", id);
        const std::string meminfo = readText(dir / "meminfo");
        node.totalBytes = meminfoBytes(meminfo, "MemTotal");
        node.freeBytes = meminfoBytes(meminfo, "MemFree");
        node.distances = distancesAt(dir / "distance");
        if (tierOf)
            for (const auto& [member, tier] : *tierOf)
                if (member == id) node.tier = tier;
        tiers.nodes.push_back(std::move(node));
    }
    for (auto& node : tiers.nodes) {
        if (tiers.kernelTiers && node.tier >= 0) {
            node.rank = node.tier;
            continue;
        }
        // No tier: the distance from the nearest node with CPUs (itself when it has some).
        int nearest = std::numeric_limits<int>::max();
        for (const auto& cpuNode : tiers.nodes) {
            if (!cpuNode.hasCpus) continue;
            const auto at = static_cast<std::size_t>(node.id);
            if (at < cpuNode.distances.size()) nearest = std::min(nearest, cpuNode.distances[at]);
        }
        node.rank = nearest == std::numeric_limits<int>::max() ? 10 : nearest;
    }
    // Tiers and distances are different scales: with tiers, a node the kernel left out of
    // them (memory offline) ranks after every tier.
    if (tiers.kernelTiers)
        for (auto& node : tiers.nodes)
            if (node.tier < 0) node.rank = std::numeric_limits<int>::max();
    return tiers;
}

const MemoryNode* MemoryTiers::find(int id) const {
    for (const auto& node : nodes)
        if (node.id == id) return &node;
    return nullptr;
}

std::optional<int> MemoryTiers::fastestRank() const {
    std::optional<int> fastest;
    for (const auto& node : nodes)
        if (node.hasMemory && (!fastest || node.rank < *fastest)) fastest = node.rank;
    return fastest;
}

bool MemoryTiers::slower(int slow, int fast) const {
    const MemoryNode* a = find(slow);
    const MemoryNode* b = find(fast);
    return a != nullptr && b != nullptr && a->rank > b->rank;
}

std::vector<const MemoryNode*> MemoryTiers::fastestFirst() const {
    std::vector<const MemoryNode*> sorted;
    for (const auto& node : nodes)
        if (node.hasMemory) sorted.push_back(&node);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const MemoryNode* a, const MemoryNode* b) { return a->rank < b->rank; });
    return sorted;
}

std::string MemoryTiers::describe() const {
    if (nodes.empty()) return "no NUMA node in sysfs";
    std::string text;
    for (const auto& node : nodes) {
        std::vector<std::string> traits;
        if (node.tier >= 0) traits.push_back(fmt::format("tier {}", node.tier));
        if (!kernelTiers) traits.push_back(fmt::format("distance {}", node.rank));
        traits.push_back(node.hasMemory ? sizeText(node.totalBytes) : "no memory");
        if (node.hasCpus) traits.push_back("CPUs");
        text +=
            fmt::format("{}{} ({})", text.empty() ? "" : ", ", node.id, fmt::join(traits, ", "));
    }
    return text;
}

std::string coldNodeProblem(const MemoryTiers& tiers, int id, const std::string& key) {
    const std::string nodes = fmt::format("this machine's nodes: {}", tiers.describe());
    const MemoryNode* node = tiers.find(id);
    if (node == nullptr) return fmt::format("{}: node {} does not exist; {}", key, id, nodes);
    if (!node->hasMemory) return fmt::format("{}: node {} has no memory; {}", key, id, nodes);
    if (node->rank <= tiers.fastestRank().value_or(node->rank))
        return fmt::format(
            "{}: node {} is not slower than the fastest memory ({}); cold pages go to a node "
            "of a lower tier (a larger distance where the kernel shows no tiers); {}",
            key, id, tiers.kernelTiers ? "same tier" : "same distance", nodes);
    return {};
}

std::string nodePairProblem(const MemoryTiers& tiers, int hot, int cold, const std::string& key) {
    const std::string nodes = fmt::format("this machine's nodes: {}", tiers.describe());
    for (int id : {hot, cold}) {
        const MemoryNode* node = tiers.find(id);
        if (node == nullptr) return fmt::format("{}: node {} does not exist; {}", key, id, nodes);
        if (!node->hasMemory) return fmt::format("{}: node {} has no memory; {}", key, id, nodes);
    }
    if (!tiers.slower(cold, hot))
        return fmt::format("{}: pair {},{}: cold node {} is not slower than hot node {}; {}", key,
                           hot, cold, cold, hot, nodes);
    return {};
}

}  // namespace etmem::kernel
