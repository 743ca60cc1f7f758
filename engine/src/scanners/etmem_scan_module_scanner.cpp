// SPDX-License-Identifier: MulanPSL-2.0
// The idle_pages scanner: openEuler's /proc/PID/idle_pages (etmem_scan module). Reading walks the
// page tables from the file position, test-and-clears the accessed bits and returns the byte stream
// decoded by IdlePagesDecoder. A round reads every candidate mapping once; clear_refs 4 then
// flushes the target's TLB so the next round sees accesses through cached translations too.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/files.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::backends {

using namespace etmem::kernel;
namespace {

// A read of n bytes covers n * 8 pages; this is 256 MiB of address space per read.
constexpr std::size_t kReadBytes = 8192;

class NullSink final : public AccessSink {
  public:
    void record(std::uint64_t, std::uint64_t, PageAccess) override {}
};

class IdlePagesSession final : public ScanSession {
  public:
    IdlePagesSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths)
        : vmas_(vmas.begin(), vmas.end()),
          idlePages_(openTargetFile(target, paths.proc, "idle_pages", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)) {}

    void round(std::stop_token stop, AccessSink& sink) override {
        std::vector<std::uint8_t> buffer(kReadBytes);
        for (const auto& vma : vmas_) {
            if (!walk(vma.range, stop, sink, buffer)) return;
        }
        clearSoftDirty(clearRefs_.get());
    }

  private:
    bool walk(PageRange range, std::stop_token stop, AccessSink& sink,
              std::vector<std::uint8_t>& buffer) {
        if (::lseek(idlePages_.get(), static_cast<off_t>(range.start), SEEK_SET) < 0)
            throw std::system_error(errno, std::generic_category(), "seeking idle_pages");
        IdlePagesDecoder decoder(range.start);
        while (decoder.address() < range.end || decoder.midCommand()) {
            if (stop.stop_requested()) return false;
            ssize_t got = ::read(idlePages_.get(), buffer.data(), buffer.size());
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == ESRCH) throw TargetGone("the process exited");
                throw std::system_error(errno, std::generic_category(), "reading idle_pages");
            }
            if (got == 0) break;  // the walk ended
            std::uint64_t before = decoder.address();
            decoder.feed(
                std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(got)),
                [&](std::uint64_t address, std::uint64_t bytes, PageAccess access) {
                    if (access != PageAccess::Idle) sink.record(address, bytes / kPageSize, access);
                });
            if (decoder.address() == before && !decoder.midCommand()) break;  // no progress
        }
        return true;
    }

    std::vector<Vma> vmas_;
    UniqueFd idlePages_;
    UniqueFd clearRefs_;
};

class IdlePagesScanner final : public AccessScanner {
  public:
    explicit IdlePagesScanner(KernelPaths paths) : paths_(std::move(paths)) {}
    std::string_view name() const override { return "idle_pages"; }
    // It reports accessed page table entries (and THPs as PMD records) only.
    bool reportsOnlyPresentPages() const override { return true; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token stop) override {
        auto session = std::make_unique<IdlePagesSession>(target, vmas, paths_);
        NullSink baseline;  // reading clears the accessed bits: that is the baseline
        session->round(stop, baseline);
        return session;
    }

  private:
    KernelPaths paths_;
};

}  // namespace

std::string probeEtmemScanModuleScanner(const KernelPaths& paths) {
    if (canOpen(paths.proc / "self/idle_pages", O_RDONLY)) return "";
    return "/proc/PID/idle_pages is not available (openEuler etmem_scan module not loaded): "
           "the idle_pages scanner is not available";
}

std::unique_ptr<AccessScanner> makeEtmemScanModuleScanner(const BackendSettings& settings) {
    return std::make_unique<IdlePagesScanner>(settings.paths);
}

}  // namespace etmem::backends
