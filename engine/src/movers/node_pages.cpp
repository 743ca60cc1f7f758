// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/movers/node_pages.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "etmem/kernel/errors.hpp"

namespace etmem::movers {
namespace {

class KernelPageNodes final : public PageNodes {
  public:
    long movePages(pid_t pid, std::span<void*> pages, const int* nodes, std::span<int> status,
                   int flags) override {
        return ::syscall(SYS_move_pages, pid, pages.size(), pages.data(), nodes, status.data(),
                         flags);
    }
};

[[noreturn]] void refused(const Target& target, int error) {
    if (error == ESRCH) throw kernel::TargetGone(fmt::format("process {} exited", target.pid));
    if (error == EPERM || error == EACCES)
        throw kernel::BackendUnavailable(
            fmt::format("move_pages on process {} was refused ({}): etmemd needs CAP_SYS_NICE and "
                        "CAP_SYS_PTRACE, and the unit must allow the move_pages system call",
                        target.pid, std::strerror(error)));
    if (error == ENOSYS)
        throw kernel::BackendUnavailable(
            "the kernel has no move_pages system call (built without CONFIG_NUMA, or a "
            "seccomp filter forbids it)");
    throw kernel::BackendUnavailable(
        fmt::format("move_pages on process {} failed: {}", target.pid, std::strerror(error)));
}

void checkAlive(const Target& target) {
    if (!target.alive()) throw kernel::TargetGone(fmt::format("process {} exited", target.pid));
}

// One bounded move_pages call per batch; nodes == -1 asks where the pages are.
NodeOutcome callInBatches(PageNodes& kernel, const Target& target,
                          std::span<const std::uint64_t> addresses, int node, int flags,
                          std::span<int> status, std::stop_token stop) {
    NodeOutcome outcome;
    std::fill(status.begin(), status.end(), -EINTR);
    std::vector<void*> pages;
    std::vector<int> nodes;
    for (std::size_t first = 0; first < addresses.size(); first += kMaxPagesPerMoveCall) {
        if (stop.stop_requested()) break;
        const std::size_t count = std::min(kMaxPagesPerMoveCall, addresses.size() - first);
        pages.clear();
        for (std::size_t i = 0; i < count; ++i)
            pages.push_back(reinterpret_cast<void*>(addresses[first + i]));
        nodes.assign(count, node);
        checkAlive(target);
        const long result = kernel.movePages(target.pid, pages, node < 0 ? nullptr : nodes.data(),
                                             status.subspan(first, count), flags);
        if (result < 0) refused(target, errno);
        checkAlive(target);  // the pid still named our process while the call ran
        outcome.pages += count;
        for (std::size_t i = 0; i < count; ++i)
            if (status[first + i] < 0 && status[first + i] != -ENOENT) ++outcome.pageErrors;
    }
    return outcome;
}

}  // namespace

std::shared_ptr<PageNodes> kernelPageNodes() {
    return std::make_shared<KernelPageNodes>();
}

NodeOutcome queryNodes(PageNodes& kernel, const Target& target,
                       std::span<const std::uint64_t> addresses, std::span<int> status,
                       std::stop_token stop) {
    return callInBatches(kernel, target, addresses, -1, 0, status, stop);
}

NodeOutcome movePagesTo(PageNodes& kernel, const Target& target,
                        std::span<const std::uint64_t> addresses, int node, int flags,
                        std::span<int> status, std::stop_token stop) {
    return callInBatches(kernel, target, addresses, node, flags, status, stop);
}

}  // namespace etmem::movers
