// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/pagemap.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "etmem/kernel/errors.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::kernel {

bool readPagemap(int pagemapFd, PageRange range, std::stop_token stop,
                 const std::function<void(std::uint64_t, std::span<const PagemapEntry>)>& visit) {
    std::vector<PagemapEntry> buffer;
    return readPagemap(pagemapFd, range, stop, visit, buffer);
}

bool readPagemap(int pagemapFd, PageRange range, std::stop_token stop,
                 const std::function<void(std::uint64_t, std::span<const PagemapEntry>)>& visit,
                 std::vector<PagemapEntry>& buffer) {
    static_assert(sizeof(PagemapEntry) == sizeof(std::uint64_t));
    buffer.resize(kPagemapChunkEntries);
    std::uint64_t address = range.start;
    while (address < range.end) {
        if (stop.stop_requested()) return false;
        std::uint64_t pages =
            std::min<std::uint64_t>((range.end - address) / kPageSize, kPagemapChunkEntries);
        auto offset = static_cast<off_t>(address / kPageSize * sizeof(PagemapEntry));
        ssize_t got = ::pread(pagemapFd, buffer.data(), pages * sizeof(PagemapEntry), offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno == ESRCH) throw TargetGone("the process exited");
            throw std::system_error(errno, std::generic_category(), "reading pagemap");
        }
        if (got == 0) throw TargetGone("the process has no address space any more");
        auto entries = static_cast<std::size_t>(got) / sizeof(PagemapEntry);
        visit(address, std::span<const PagemapEntry>(buffer.data(), entries));
        address += entries * kPageSize;
    }
    return true;
}

bool pagemapScanAvailable() {
    UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
    if (!pagemap) return false;
    uapi::PageRegion region{};
    uapi::PmScanArg arg{};
    arg.size = sizeof arg;
    arg.vec = reinterpret_cast<std::uint64_t>(&region);
    arg.vecLen = 1;
    arg.categoryMask = uapi::kPageIsPresent;
    arg.returnMask = uapi::kPageIsPresent;
    // start == end: an empty walk. ENOTTY (or EINVAL from an older layout) means absent.
    return ::ioctl(pagemap.get(), uapi::kPagemapScan, &arg) >= 0;
}

bool PresentPagemap::forEachRun(PageRange range, std::stop_token stop,
                                const std::function<void(PageRange)>& visit) {
    if (!scan_) {
        visit(range);
        return true;
    }
    // 512 regions (12 KiB) per call; the kernel stops early when they are full and says
    // where in walk_end.
    regions_.resize(512);
    std::uint64_t start = range.start;
    while (start < range.end) {
        if (stop.stop_requested()) return false;
        uapi::PmScanArg arg{};
        arg.size = sizeof arg;
        arg.start = start;
        arg.end = range.end;
        arg.vec = reinterpret_cast<std::uint64_t>(regions_.data());
        arg.vecLen = regions_.size();
        arg.categoryInverted = uapi::kPageIsFile;
        arg.categoryMask = uapi::kPageIsPresent | uapi::kPageIsFile;
        arg.returnMask = uapi::kPageIsPresent;
        int found = ::ioctl(fd_, uapi::kPagemapScan, &arg);
        if (found < 0) {
            if (errno == EINTR) continue;
            if (errno == ESRCH) throw TargetGone("the process exited");
            throw std::system_error(errno, std::generic_category(), "PAGEMAP_SCAN");
        }
        for (int i = 0; i < found; ++i)
            visit(PageRange{regions_[static_cast<std::size_t>(i)].start,
                            regions_[static_cast<std::size_t>(i)].end});
        if (arg.walkEnd <= start) break;  // no progress: the walk cannot go on
        start = arg.walkEnd;
    }
    return true;
}

bool PresentPagemap::read(
    PageRange range, bool dense, std::stop_token stop,
    const std::function<void(std::uint64_t, std::span<const PagemapEntry>)>& visit) {
    if (dense || !scan_) return readPagemap(fd_, range, stop, visit, buffer_);
    bool complete = true;
    bool walked = forEachRun(range, stop, [&](PageRange run) {
        if (complete) complete = readPagemap(fd_, run, stop, visit, buffer_);
    });
    return walked && complete;
}

}  // namespace etmem::kernel
