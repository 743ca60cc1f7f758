// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/idle_pages_format.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "etmem/kernel/memory_map.hpp"

namespace etmem::kernel {

std::uint64_t unitBytes(IdlePageType type) {
    switch (type) {
        case IdlePageType::PteAccessed:
        case IdlePageType::PteDirty:
        case IdlePageType::PteIdle:
        case IdlePageType::PteHole:
            return kPageSize;
        case IdlePageType::PmdAccessed:
        case IdlePageType::PmdDirty:
        case IdlePageType::PmdIdle:
        case IdlePageType::PmdIdlePtes:
        case IdlePageType::PmdHole:
            return kPmdSize;
        case IdlePageType::PudPresent:
            return kPudSize;
        case IdlePageType::Command:
            return 0;
    }
    return 0;
}

PageAccess accessOf(IdlePageType type) {
    switch (type) {
        // PUD_PRESENT says a 1 GiB page is mapped, not whether it was used: like the
        // original engine, it counts as accessed, which keeps it from being swapped.
        case IdlePageType::PteAccessed:
        case IdlePageType::PmdAccessed:
        case IdlePageType::PudPresent:
            return PageAccess::Read;
        case IdlePageType::PteDirty:
        case IdlePageType::PmdDirty:
            return PageAccess::Written;
        case IdlePageType::PteIdle:
        case IdlePageType::PmdIdle:
        case IdlePageType::PmdIdlePtes:
            return PageAccess::Idle;
        case IdlePageType::PteHole:
        case IdlePageType::PmdHole:
        case IdlePageType::Command:
            return PageAccess::Hole;
    }
    return PageAccess::Hole;
}

void IdlePagesDecoder::feed(std::span<const std::uint8_t> bytes, const RunCallback& onRun) {
    for (std::uint8_t byte : bytes) {
        if (pendingAddressBytes_ > 0) {
            pendingAddress_ = (pendingAddress_ << 8) | byte;  // big-endian
            if (--pendingAddressBytes_ == 0) address_ = pendingAddress_;
            continue;
        }
        auto type = static_cast<IdlePageType>(byte >> 4);
        unsigned count = byte & 0xF;
        if (type == IdlePageType::Command) {
            if (byte == kSetHvaCommand) {
                pendingAddressBytes_ = 8;
                pendingAddress_ = 0;
            }
            continue;  // other commands carry no payload we know of
        }
        if (byte >> 4 > static_cast<unsigned>(IdlePageType::Command)) continue;  // unknown type
        std::uint64_t span = unitBytes(type) * count;
        PageAccess access = accessOf(type);
        if (access != PageAccess::Hole && span > 0) onRun(address_, span, access);
        address_ += span;
    }
}

std::string swapPagesLine(std::uint64_t address) {
    return fmt::format("0x{:x}\n", address);
}

std::uint64_t writeSwapPages(int fd, std::span<const std::uint64_t> addresses, std::size_t batch) {
    if (batch == 0) batch = kSwapPagesBatch;
    std::uint64_t accepted = 0;
    std::string text;
    for (std::size_t first = 0; first < addresses.size(); first += batch) {
        std::size_t count = std::min(batch, addresses.size() - first);
        text.clear();
        for (std::size_t i = 0; i < count; ++i) text += swapPagesLine(addresses[first + i]);
        std::size_t written = 0;
        while (written < text.size()) {
            ssize_t n = ::write(fd, text.data() + written, text.size() - written);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::system_error(errno, std::generic_category(), "writing swap_pages");
            }
            written += static_cast<std::size_t>(n);
        }
        accepted += count;
    }
    return accepted;
}

}  // namespace etmem::kernel
