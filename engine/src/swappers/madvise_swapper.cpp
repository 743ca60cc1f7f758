// SPDX-License-Identifier: MulanPSL-2.0
// The madvise swapper: process_madvise(MADV_PAGEOUT) on the target's pidfd.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "etmem/backends/backends.hpp"

namespace etmem::backends {

using namespace etmem::kernel;
namespace {

// process_madvise(pidfd, ranges, MADV_PAGEOUT): up to IOV_MAX coalesced ranges per call.
// The call returns the bytes it got through; on an error after some progress it returns
// that progress, and the failing range is retried alone, then skipped if it fails again
// (ENOMEM: part of it is no longer mapped).
class MadviseSwapper final : public Swapper {
  public:
    std::string_view name() const override { return "madvise"; }

    std::uint64_t swapOut(const Target& target, std::span<const PageRange> ranges,
                          std::stop_token stop) override {
        std::uint64_t accepted = 0;
        for (auto& batch : toIovecBatches(ranges)) {
            std::size_t next = 0;
            while (next < batch.size()) {
                if (stop.stop_requested()) return accepted;
                long result = ::syscall(SYS_process_madvise, target.pidfd.get(), &batch[next],
                                        batch.size() - next, MADV_PAGEOUT, 0);
                if (result < 0) {
                    next += handleError(target, errno);
                    continue;
                }
                accepted += static_cast<std::uint64_t>(result);
                next = advance(batch, next, static_cast<std::uint64_t>(result));
            }
        }
        return accepted;
    }

  private:
    // How many iovecs to skip after a failed call (0: retry).
    static std::size_t handleError(const Target& target, int error) {
        switch (error) {
            case EINTR:
            case EAGAIN:
                return 0;
            case ESRCH:
                throw TargetGone(fmt::format("process {} exited", target.pid));
            case EPERM:
            case EACCES:
                throw BackendUnavailable(
                    fmt::format("no permission to swap out memory of process {}: etmemd needs "
                                "CAP_SYS_NICE and ptrace access to it (run it as root)",
                                target.pid));
            case ENOSYS:
                throw BackendUnavailable(
                    "the kernel has no process_madvise (Linux 5.10+): choose swapper "
                    "swap_pages or upgrade the kernel");
            case EBADF:
                if (!target.alive()) throw TargetGone(fmt::format("process {} exited", target.pid));
                throw std::system_error(error, std::generic_category(), "process_madvise");
            default:
                return 1;  // ENOMEM/EINVAL/EFAULT: that range is gone or unusable; go on
        }
    }

    // Moves past `bytes` of the batch from iovec `next`; returns the new first iovec.
    static std::size_t advance(std::vector<iovec>& batch, std::size_t next, std::uint64_t bytes) {
        if (bytes == 0) return next + 1;  // no progress: do not ask again for the same range
        while (bytes > 0 && next < batch.size()) {
            if (bytes >= batch[next].iov_len) {
                bytes -= batch[next].iov_len;
                ++next;
            } else {
                batch[next].iov_base = static_cast<char*>(batch[next].iov_base) + bytes;
                batch[next].iov_len -= bytes;
                bytes = 0;
            }
        }
        return next;
    }
};

}  // namespace

std::string probeMadviseSwapper(const KernelPaths&) {
    // With an invalid pidfd the syscall answers EBADF if it exists, ENOSYS if not.
    long result = ::syscall(SYS_process_madvise, -1, nullptr, 0, MADV_PAGEOUT, 0);
    if (!(result < 0 && errno == ENOSYS)) return "";
    return "the kernel has no process_madvise (Linux 5.10+): the madvise swapper is not "
           "available";
}

std::unique_ptr<Swapper> makeMadviseSwapper(const BackendSettings&) {
    return makeMadviseSwapper();
}

std::unique_ptr<Swapper> makeMadviseSwapper() {
    return std::make_unique<MadviseSwapper>();
}

}  // namespace etmem::backends
