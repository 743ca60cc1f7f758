#include "etmem/slide/pagemap.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "etmem/slide/backends.hpp"

namespace etmem::slide {

bool readPagemap(int pagemapFd, PageRange range, std::stop_token stop,
                 const std::function<void(std::uint64_t, std::span<const PagemapEntry>)>& visit) {
    static_assert(sizeof(PagemapEntry) == sizeof(std::uint64_t));
    std::vector<PagemapEntry> buffer(kPagemapChunkEntries);
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

}  // namespace etmem::slide
