// /proc/PID/pagemap: one 64-bit entry per virtual page.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>

#include "etmem/slide/memory_map.hpp"

namespace etmem::slide {

struct PagemapEntry {
    std::uint64_t raw = 0;

    static constexpr std::uint64_t kPfnMask = (std::uint64_t{1} << 55) - 1;
    std::uint64_t pfn() const { return raw & kPfnMask; }  // 0 without CAP_SYS_ADMIN
    bool softDirty() const { return (raw >> 55) & 1; }
    bool exclusive() const { return (raw >> 56) & 1; }
    bool fileOrSharedAnon() const { return (raw >> 61) & 1; }
    bool swapped() const { return (raw >> 62) & 1; }
    bool present() const { return (raw >> 63) & 1; }
    // A page the slide engine classifies: resident private anonymous memory of one owner.
    bool swappable() const { return present() && !fileOrSharedAnon() && exclusive(); }
};

// Entries read per pread: 4096 entries = 32 KiB covering 16 MiB of address space.
inline constexpr std::size_t kPagemapChunkEntries = 4096;

// Reads the entries of `range` from an open pagemap file in chunks and hands each chunk to
// `visit` with the address of its first page. Returns false if stop was requested before
// the end. Throws TargetGone when the process has no address space any more (the read
// returns nothing), std::system_error on other failures.
bool readPagemap(int pagemapFd, PageRange range, std::stop_token stop,
                 const std::function<void(std::uint64_t firstAddress,
                                          std::span<const PagemapEntry> entries)>& visit);

}  // namespace etmem::slide
