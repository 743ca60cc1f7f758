// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/memory_map.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

namespace etmem::kernel {
namespace {

struct Header {
    PageRange range;
    std::string perms;
    std::string name;
};

bool parseHex(std::string_view text, std::uint64_t& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return ec == std::errc() && end == text.data() + text.size();
}

// "start-end perms offset dev inode [name]"; nullopt-like false for other lines.
bool parseHeader(std::string_view line, Header& header) {
    std::istringstream in{std::string(line)};
    std::string span, perms, offset, dev, inode;
    if (!(in >> span >> perms >> offset >> dev >> inode)) return false;
    auto dash = span.find('-');
    if (dash == std::string::npos || perms.size() != 4) return false;
    if (!parseHex(std::string_view(span).substr(0, dash), header.range.start) ||
        !parseHex(std::string_view(span).substr(dash + 1), header.range.end))
        return false;
    header.perms = perms;
    std::getline(in >> std::ws, header.name);
    return true;
}

bool isSpecialName(const std::string& name) {
    if (name.empty() || name.front() != '[') return false;
    // [heap], [stack], [stack:tid] and [anon:...] are ordinary anonymous memory.
    return !(name == "[heap]" || name.starts_with("[stack") || name.starts_with("[anon:"));
}

// VmFlags that rule a mapping out: locked, I/O or PFN maps, mixed maps, hugetlb.
bool hasExcludedFlag(std::string_view flags) {
    static const std::set<std::string, std::less<>> excluded{"lo", "io", "pf", "mm", "ht", "sh"};
    std::istringstream in{std::string(flags)};
    std::string flag;
    while (in >> flag)
        if (excluded.contains(flag)) return true;
    return false;
}

std::uint64_t kilobytesOf(std::string_view value) {
    std::uint64_t kb = 0;
    auto first = value.find_first_of("0123456789");
    if (first == std::string_view::npos) return 0;
    std::from_chars(value.data() + first, value.data() + value.size(), kb);
    return kb;
}

struct Mapping {
    Header header;
    bool excluded = false;
    bool hugePages = false;
    std::uint64_t residentBytes = 0;
    std::uint64_t anonymousBytes = 0;
    bool anonymousKnown = false;  // smaps had an Anonymous line
};

bool isCandidate(const Mapping& mapping) {
    const auto& perms = mapping.header.perms;
    if (perms[3] != 'p') return false;                     // shared
    if (perms[0] != 'r' && perms[1] != 'w') return false;  // guard pages
    if (mapping.excluded || isSpecialName(mapping.header.name)) return false;
    const auto& range = mapping.header.range;
    return range.end > range.start && range.start % kPageSize == 0 && range.end % kPageSize == 0;
}

}  // namespace

std::vector<Vma> parseCandidateVmas(std::string_view smapsText) {
    std::vector<Mapping> mappings;
    std::size_t position = 0;
    while (position < smapsText.size()) {
        auto newline = smapsText.find('\n', position);
        if (newline == std::string_view::npos) newline = smapsText.size();
        std::string_view line = smapsText.substr(position, newline - position);
        position = newline + 1;

        auto colon = line.find(':');
        auto space = line.find(' ');
        bool keyLine = colon != std::string_view::npos && colon < space;
        if (!keyLine) {
            Mapping mapping;
            if (parseHeader(line, mapping.header)) mappings.push_back(std::move(mapping));
            continue;
        }
        if (mappings.empty()) continue;
        auto key = line.substr(0, colon);
        auto value = line.substr(colon + 1);
        auto& current = mappings.back();
        if (key == "VmFlags" && hasExcludedFlag(value)) current.excluded = true;
        if (key == "Locked" && kilobytesOf(value) > 0) current.excluded = true;
        if (key == "AnonHugePages" && kilobytesOf(value) > 0) current.hugePages = true;
        if (key == "Anonymous") {
            current.anonymousBytes = kilobytesOf(value) * 1024;
            current.anonymousKnown = true;
        }
        if (key == "Rss") {
            current.residentBytes = kilobytesOf(value) * 1024;
            if (current.residentBytes == 0) current.excluded = true;
        }
    }
    std::vector<Vma> vmas;
    for (auto& mapping : mappings) {
        if (!isCandidate(mapping)) continue;
        bool writable = mapping.header.perms[1] == 'w';
        bool noAnonymous = mapping.anonymousKnown && mapping.anonymousBytes == 0;
        vmas.push_back(Vma{mapping.header.range, mapping.hugePages, mapping.residentBytes,
                           mapping.anonymousBytes, std::move(mapping.header.name),
                           writable || !noAnonymous});
    }
    std::sort(vmas.begin(), vmas.end(),
              [](const Vma& a, const Vma& b) { return a.range.start < b.range.start; });
    return vmas;
}

std::vector<PageRange> coalesce(std::vector<PageRange> ranges) {
    std::sort(ranges.begin(), ranges.end(),
              [](const PageRange& a, const PageRange& b) { return a.start < b.start; });
    std::vector<PageRange> merged;
    for (const auto& range : ranges) {
        if (range.end <= range.start) continue;
        if (!merged.empty() && range.start <= merged.back().end)
            merged.back().end = std::max(merged.back().end, range.end);
        else
            merged.push_back(range);
    }
    return merged;
}

std::vector<std::vector<iovec>> toIovecBatches(std::span<const PageRange> ranges,
                                               std::size_t maxPerCall, std::uint64_t maxBytes) {
    std::vector<std::vector<iovec>> batches;
    if (maxPerCall == 0 || maxBytes < kPageSize) return batches;
    maxBytes -= maxBytes % kPageSize;
    std::uint64_t batchBytes = 0;
    for (const auto& range : ranges) {
        for (std::uint64_t start = range.start; start < range.end;) {
            if (batches.empty() || batches.back().size() == maxPerCall || batchBytes == maxBytes) {
                batches.emplace_back();
                batchBytes = 0;
            }
            std::uint64_t bytes = std::min(range.end - start, maxBytes - batchBytes);
            // The iovec names memory of another process: its base is that process's address.
            batches.back().push_back(iovec{reinterpret_cast<void*>(start), bytes});
            batchBytes += bytes;
            start += bytes;
        }
    }
    return batches;
}

void appendPages(std::vector<PageRange>& ranges, std::uint64_t address, std::uint64_t pages) {
    std::uint64_t end = address + pages * kPageSize;
    if (!ranges.empty() && ranges.back().end == address)
        ranges.back().end = end;
    else
        ranges.push_back(PageRange{address, end});
}

}  // namespace etmem::kernel
