// SPDX-License-Identifier: MulanPSL-2.0
// The openEuler etmem_scan/etmem_swap formats, tested against a test encoder built from the
// documented format (the modules cannot run here).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sys/ioctl.h>

#include <string>
#include <system_error>
#include <vector>

#include "etmem/kernel/idle_pages_format.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/unique_fd.hpp"

using namespace etmem::kernel;

namespace {

// Builds /proc/PID/idle_pages byte streams: records of (type << 4 | n), SET_HVA with a
// big-endian address. Keeps the address the kernel's walk would be at, to check against.
class IdlePagesEncoder {
  public:
    explicit IdlePagesEncoder(std::uint64_t start) : address_(start) {}

    // n units of a type (split into records of at most 15).
    IdlePagesEncoder& add(IdlePageType type, unsigned units) {
        while (units > 0) {
            unsigned n = std::min(units, 15u);
            bytes_.push_back(static_cast<std::uint8_t>((static_cast<unsigned>(type) << 4) | n));
            address_ += unitBytes(type) * n;
            units -= n;
        }
        return *this;
    }
    IdlePagesEncoder& setHva(std::uint64_t address) {
        bytes_.push_back(kSetHvaCommand);
        for (int shift = 56; shift >= 0; shift -= 8)
            bytes_.push_back(static_cast<std::uint8_t>(address >> shift));
        address_ = address;
        return *this;
    }
    const std::vector<std::uint8_t>& bytes() const { return bytes_; }
    std::uint64_t address() const { return address_; }

  private:
    std::vector<std::uint8_t> bytes_;
    std::uint64_t address_;
};

struct DecodedRun {
    std::uint64_t address, bytes;
    PageAccess access;
    bool operator==(const DecodedRun&) const = default;
};

std::vector<DecodedRun> decode(std::uint64_t start, const std::vector<std::uint8_t>& bytes,
                               std::size_t pieceSize, std::uint64_t* end = nullptr) {
    IdlePagesDecoder decoder(start);
    std::vector<DecodedRun> runs;
    for (std::size_t i = 0; i < bytes.size(); i += pieceSize) {
        auto piece =
            std::span<const std::uint8_t>(bytes).subspan(i, std::min(pieceSize, bytes.size() - i));
        decoder.feed(piece, [&](std::uint64_t a, std::uint64_t b, PageAccess access) {
            runs.push_back({a, b, access});
        });
    }
    if (end) *end = decoder.address();
    return runs;
}

constexpr std::uint64_t kStart = 0x7f0000000000;
constexpr std::uint64_t kMiB = 1024 * 1024;

}  // namespace

TEST(SlideIdlePagesDecoder, EveryRecordTypeAdvancesByItsUnitAndReportsItsAccess) {
    IdlePagesEncoder encoder(kStart);
    encoder.add(IdlePageType::PteAccessed, 3)
        .add(IdlePageType::PteDirty, 2)
        .add(IdlePageType::PteIdle, 4)
        .add(IdlePageType::PteHole, 5)
        .add(IdlePageType::PmdAccessed, 1)
        .add(IdlePageType::PmdDirty, 1)
        .add(IdlePageType::PmdIdle, 2)
        .add(IdlePageType::PmdIdlePtes, 1)
        .add(IdlePageType::PmdHole, 3)
        .add(IdlePageType::PudPresent, 1);
    std::uint64_t end = 0;
    auto runs = decode(kStart, encoder.bytes(), encoder.bytes().size(), &end);
    std::uint64_t a = kStart;
    std::vector<DecodedRun> expected;
    auto expect = [&](std::uint64_t bytes, PageAccess access) {
        if (access != PageAccess::Hole) expected.push_back({a, bytes, access});
        a += bytes;
    };
    expect(3 * kPageSize, PageAccess::Read);
    expect(2 * kPageSize, PageAccess::Written);
    expect(4 * kPageSize, PageAccess::Idle);
    expect(5 * kPageSize, PageAccess::Hole);
    expect(2 * kMiB, PageAccess::Read);
    expect(2 * kMiB, PageAccess::Written);
    expect(4 * kMiB, PageAccess::Idle);
    expect(2 * kMiB, PageAccess::Idle);
    expect(6 * kMiB, PageAccess::Hole);
    expect(1024 * kMiB, PageAccess::Read);
    EXPECT_EQ(runs, expected);
    EXPECT_EQ(end, encoder.address());
    EXPECT_EQ(end, a);
}

TEST(SlideIdlePagesDecoder, SetHvaJumpsToABigEndianAddress) {
    IdlePagesEncoder encoder(kStart);
    encoder.add(IdlePageType::PteAccessed, 1)
        .setHva(0x00007f1234567000)
        .add(IdlePageType::PteDirty, 1);
    auto runs = decode(kStart, encoder.bytes(), 64);
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0], (DecodedRun{kStart, kPageSize, PageAccess::Read}));
    EXPECT_EQ(runs[1], (DecodedRun{0x00007f1234567000, kPageSize, PageAccess::Written}));
}

TEST(SlideIdlePagesDecoder, RecordsSplitAcrossReadsDecodeTheSame) {
    IdlePagesEncoder encoder(kStart);
    encoder.add(IdlePageType::PteAccessed, 40)
        .setHva(0x7f00deadb000)
        .add(IdlePageType::PmdDirty, 2)
        .add(IdlePageType::PteHole, 17)
        .setHva(0x7f00ffff0000)
        .add(IdlePageType::PteIdle, 1)
        .add(IdlePageType::PteDirty, 1);
    std::uint64_t endWhole = 0;
    auto whole = decode(kStart, encoder.bytes(), encoder.bytes().size(), &endWhole);
    for (std::size_t piece : {1u, 2u, 3u, 5u, 8u, 9u}) {
        std::uint64_t end = 0;
        EXPECT_EQ(decode(kStart, encoder.bytes(), piece, &end), whole) << "piece " << piece;
        EXPECT_EQ(end, endWhole);
    }
    EXPECT_EQ(endWhole, encoder.address());
}

TEST(SlideIdlePagesDecoder, MidCommandIsTrueUntilTheAddressIsComplete) {
    IdlePagesDecoder decoder(kStart);
    std::vector<std::uint8_t> bytes{kSetHvaCommand, 0, 0, 0x7f};
    decoder.feed(bytes, [](auto, auto, auto) {});
    EXPECT_TRUE(decoder.midCommand());
    std::vector<std::uint8_t> rest{0, 0, 0, 0x10, 0};
    decoder.feed(rest, [](auto, auto, auto) {});
    EXPECT_FALSE(decoder.midCommand());
    EXPECT_EQ(decoder.address(), 0x00007f0000001000u);  // 00 00 7f 00 00 00 10 00
}

TEST(SlideIdlePagesDecoder, ZeroCountRecordsAndUnknownTypesAreSkipped) {
    std::vector<std::uint8_t> bytes{0x00, 0xB3, 0xF1, 0x01};
    auto runs = decode(kStart, bytes, bytes.size());
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0], (DecodedRun{kStart, kPageSize, PageAccess::Read}));
}

TEST(SlideIdlePagesFormat, IoctlNumbersMatchTheModule) {
    EXPECT_EQ(kIdleScanAddFlags, _IOW(0x66, 0, unsigned int));
    EXPECT_EQ(kIdleScanRemoveFlags, _IOW(0x66, 1, unsigned int));
    EXPECT_EQ(kVmaScanAddFlags, _IOW(0x66, 2, unsigned int));
    EXPECT_EQ(kVmaScanRemoveFlags, _IOW(0x66, 3, unsigned int));
}

TEST(SlideSwapPages, WritesOneHexAddressPerLineInBatches) {
    char path[] = "/tmp/slide-swap-pages-XXXXXX";
    etmem::UniqueFd file(::mkstemp(path));
    ASSERT_TRUE(file);
    ::unlink(path);
    std::vector<std::uint64_t> addresses;
    for (std::uint64_t i = 0; i < 450; ++i) addresses.push_back(0x7f0000000000 + i * kPageSize);
    EXPECT_EQ(writeSwapPages(file.get(), addresses), 450u);

    std::string text(1 << 16, '\0');
    ssize_t got = ::pread(file.get(), text.data(), text.size(), 0);
    ASSERT_GT(got, 0);
    text.resize(static_cast<std::size_t>(got));
    std::string expected;
    for (auto address : addresses) expected += swapPagesLine(address);
    EXPECT_EQ(text, expected);
    EXPECT_EQ(swapPagesLine(0x7f0000001000), "0x7f0000001000\n");
}

TEST(SlideSwapPages, EachWriteCarriesAtMostOneBatchOfWholeLines) {
    // A pipe delivers the writes as they were made: read them back one write at a time.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    etmem::UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
    std::vector<std::uint64_t> addresses;
    for (std::uint64_t i = 0; i < 7; ++i) addresses.push_back(0x1000 * (i + 1));
    EXPECT_EQ(writeSwapPages(writeEnd.get(), addresses, 3), 7u);
    writeEnd.reset();
    std::string all;
    char buffer[4096];
    for (ssize_t n; (n = ::read(readEnd.get(), buffer, sizeof buffer)) > 0;) all.append(buffer, n);
    EXPECT_EQ(all, "0x1000\n0x2000\n0x3000\n0x4000\n0x5000\n0x6000\n0x7000\n");
}

TEST(SlideSwapPages, AFailedWriteIsAnError) {
    etmem::UniqueFd readOnly(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // write: EBADF
    ASSERT_TRUE(readOnly);
    std::vector<std::uint64_t> addresses{0x1000};
    EXPECT_THROW(writeSwapPages(readOnly.get(), addresses), std::system_error);
}
