// SPDX-License-Identifier: MulanPSL-2.0
// /proc/PID/pagemap: one 64-bit entry per virtual page.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <vector>

#include "etmem/kernel/memory_map.hpp"

namespace etmem::kernel {

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
// The same with a caller's buffer (kept across calls to spare an allocation per range).
bool readPagemap(int pagemapFd, PageRange range, std::stop_token stop,
                 const std::function<void(std::uint64_t firstAddress,
                                          std::span<const PagemapEntry> entries)>& visit,
                 std::vector<PagemapEntry>& buffer);

// PAGEMAP_SCAN (Linux 6.7+, include/uapi/linux/fs.h; Debian bookworm's headers lack it):
// an ioctl on /proc/PID/pagemap that returns runs of pages matching categories, walking only
// populated page tables. Declared here with the kernel's layout.
namespace uapi {
inline constexpr std::uint64_t kPageIsFile = 1u << 2;
inline constexpr std::uint64_t kPageIsPresent = 1u << 3;
struct PageRegion {
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t categories;
};
struct PmScanArg {
    std::uint64_t size;
    std::uint64_t flags;
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t walkEnd;
    std::uint64_t vec;
    std::uint64_t vecLen;
    std::uint64_t maxPages;
    std::uint64_t categoryInverted;
    std::uint64_t categoryMask;
    std::uint64_t categoryAnyofMask;
    std::uint64_t returnMask;
};
static_assert(sizeof(PmScanArg) == 96);
// _IOWR('f', 16, struct pm_scan_arg)
inline constexpr unsigned long kPagemapScan =
    (3ul << 30) | (sizeof(PmScanArg) << 16) | ('f' << 8) | 16;
}  // namespace uapi

// Whether the kernel answers PAGEMAP_SCAN: one get-only ioctl over an empty range of
// /proc/self/pagemap (no write-protect flag: nothing changes).
bool pagemapScanAvailable();

// Without PAGEMAP_SCAN every page of a candidate mapping costs an 8-byte pagemap read per
// pass. A target whose candidate mappings span more than this many pages (16 GiB of address
// space) is then skipped for the cycle, with a message saying why.
inline constexpr std::uint64_t kMaxVirtualPagesWithoutPagemapScan = std::uint64_t{1} << 22;

// A mapping whose anonymous resident share (smaps Anonymous) is below 1/kSparseRatio is
// walked with PAGEMAP_SCAN; a denser one is read straight through (one pread per 16 MiB
// costs less than a second pass). Private file mappings (library code and data) are mostly
// clean file pages, so they count as sparse: only their few anonymous pages are read.
inline constexpr std::uint64_t kSparseRatio = 8;
inline bool isDense(const Vma& vma) {
    return vma.anonymousBytes * kSparseRatio >= vma.range.end - vma.range.start;
}
// For walks that look at the swappable pages only: a mapping of at most kStraightReadPages
// pages (2 MiB: a stack, a small heap, a library's data) is read straight through even when
// sparse, in one pread of at most 4 KiB of entries, which costs less than a PAGEMAP_SCAN
// call and a pread after it. (Walks that report other present pages keep isDense.)
inline constexpr std::uint64_t kStraightReadPages = 512;
inline bool readStraight(const Vma& vma) {
    return isDense(vma) || vma.range.pages() <= kStraightReadPages;
}

// Reads pagemap entries where pages are present: with PAGEMAP_SCAN, only over the runs of
// present anonymous pages; without, over the whole range (callers skip absent entries).
class PresentPagemap {
  public:
    PresentPagemap(int pagemapFd, bool pagemapScan) : fd_(pagemapFd), scan_(pagemapScan) {}

    // Runs of present, not file-backed pages in range, ascending. Only with PAGEMAP_SCAN;
    // without, the whole range is one run. Returns false if stopped.
    bool forEachRun(PageRange range, std::stop_token stop,
                    const std::function<void(PageRange)>& visit);
    // The entries of range, in pieces of at most kPagemapChunkEntries; `dense` reads the
    // whole range without asking PAGEMAP_SCAN first. Returns false if stopped. Throws as
    // readPagemap does.
    bool read(PageRange range, bool dense, std::stop_token stop,
              const std::function<void(std::uint64_t firstAddress,
                                       std::span<const PagemapEntry> entries)>& visit);
    bool usesScan() const { return scan_; }

  private:
    int fd_;
    bool scan_;
    std::vector<uapi::PageRegion> regions_;
    std::vector<PagemapEntry> buffer_;
};

}  // namespace etmem::kernel
