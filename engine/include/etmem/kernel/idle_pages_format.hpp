// SPDX-License-Identifier: MulanPSL-2.0
// The byte stream of openEuler's /proc/PID/idle_pages (etmem_scan module) and the text
// written to /proc/PID/swap_pages (etmem_swap module). See KERNEL-INTERFACES.md.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace etmem::kernel {

enum class IdlePageType : std::uint8_t {
    PteAccessed = 0,
    PmdAccessed = 1,
    PudPresent = 2,
    PteDirty = 3,
    PmdDirty = 4,
    PteIdle = 5,
    PmdIdle = 6,
    PmdIdlePtes = 7,
    PteHole = 8,
    PmdHole = 9,
    Command = 10,
};

inline constexpr std::uint8_t kSetHvaCommand = 0xA0;  // followed by an 8-byte big-endian address
inline constexpr std::size_t kMinIdlePagesRead = 19;
inline constexpr std::uint64_t kPmdSize = 2 * 1024 * 1024;
inline constexpr std::uint64_t kPudSize = 1024 * 1024 * 1024;

// ioctls on /proc/PID/idle_pages (magic 0x66) and their flags.
inline constexpr unsigned long kIdleScanAddFlags = 0x40046600;
inline constexpr unsigned long kIdleScanRemoveFlags = 0x40046601;
inline constexpr unsigned long kVmaScanAddFlags = 0x40046602;
inline constexpr unsigned long kVmaScanRemoveFlags = 0x40046603;
inline constexpr unsigned kScanAsHuge = 0100000000;
inline constexpr unsigned kScanIgnoreHost = 0200000000;
inline constexpr unsigned kVmaScanFlag = 0x1000;

// The bytes one unit of a type covers (0 for the command type).
std::uint64_t unitBytes(IdlePageType type);

// What a record says of the pages it covers, as the slide engine weighs it.
enum class PageAccess : std::uint8_t { Idle, Read, Written, Hole };
PageAccess accessOf(IdlePageType type);

// Decodes the stream incrementally: records may be split across reads (a SET_HVA and its
// address, say). Each run of pages is handed to the callback as (address, bytes, access);
// holes advance the address without a callback.
class IdlePagesDecoder {
  public:
    using RunCallback = std::function<void(std::uint64_t address, std::uint64_t bytes, PageAccess)>;

    explicit IdlePagesDecoder(std::uint64_t startAddress) : address_(startAddress) {}

    void feed(std::span<const std::uint8_t> bytes, const RunCallback& onRun);
    // Where the walk stands: the address after the last record decoded.
    std::uint64_t address() const { return address_; }
    // True while a SET_HVA's address bytes are still expected.
    bool midCommand() const { return pendingAddressBytes_ > 0 || awaitingCommandAddress_; }

  private:
    std::uint64_t address_;
    bool awaitingCommandAddress_ = false;
    int pendingAddressBytes_ = 0;
    std::uint64_t pendingAddress_ = 0;
};

// The text /proc/PID/swap_pages takes: one "0x<hex>\n" line per page address.
std::string swapPagesLine(std::uint64_t address);

// Writes the addresses to fd in batches of `batch` lines per write() (the original writes
// 200), retrying short writes. Returns the number of addresses the writes accepted.
// Throws std::system_error on a failed write.
inline constexpr std::size_t kSwapPagesBatch = 200;
std::uint64_t writeSwapPages(int fd, std::span<const std::uint64_t> addresses,
                             std::size_t batch = kSwapPagesBatch);

}  // namespace etmem::kernel
