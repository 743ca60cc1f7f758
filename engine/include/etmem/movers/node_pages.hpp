// SPDX-License-Identifier: MulanPSL-2.0
// Pages and NUMA nodes through move_pages(2): which node each page of a process is on, and
// moving pages to a node. The node mover and the tiering stage of the slide engine use it;
// tests put a fake behind the PageNodes interface.
//
// move_pages is called directly (syscall(2)), not through libnuma: libnuma's move_pages is
// the same one-line wrapper, and its other offers (node masks, policies) are not needed, so
// the daemon keeps one dependency fewer.
//
// Calls are bounded: at most kMaxPagesPerMoveCall pages (1 MiB) each, and the target is
// checked through its pidfd before and after each call (move_pages takes a pid, not a
// pidfd: a pid that another process took meanwhile is caught at the next check, and a
// process that exited makes the call fail with ESRCH).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>

#include "etmem/process.hpp"

namespace etmem::movers {

inline constexpr std::size_t kMaxPagesPerMoveCall = 256;

// One move_pages(2) call, as the kernel offers it.
class PageNodes {
  public:
    virtual ~PageNodes() = default;
    // move_pages(pid, pages.size(), pages, nodes, status, flags); nodes == nullptr only asks
    // where the pages are. Returns the syscall's result (-1 with errno set on failure).
    virtual long movePages(pid_t pid, std::span<void*> pages, const int* nodes,
                           std::span<int> status, int flags) = 0;
};

// The kernel's move_pages(2).
std::shared_ptr<PageNodes> kernelPageNodes();

// What happened to a set of pages.
struct NodeOutcome {
    std::uint64_t pages = 0;       // pages asked about
    std::uint64_t pageErrors = 0;  // pages the kernel answered with an error (-EBUSY, ...)
};

// The node each page is on: status[i] is a node number, or a negative errno (-ENOENT: not
// present, -EFAULT: not mapped). Calls in batches of kMaxPagesPerMoveCall; stops between
// them (status left as -EINTR) once stop is requested. Throws kernel::TargetGone when the
// target exited, kernel::BackendUnavailable when the kernel refuses (no NUMA, permission).
NodeOutcome queryNodes(PageNodes& kernel, const Target& target,
                       std::span<const std::uint64_t> addresses, std::span<int> status,
                       std::stop_token stop);

// Moves the pages to `node` (flags: MPOL_MF_MOVE, or MPOL_MF_MOVE_ALL for shared pages too),
// in batches as above; status as queryNodes leaves it. Errors of single pages are counted,
// not thrown.
NodeOutcome movePagesTo(PageNodes& kernel, const Target& target,
                        std::span<const std::uint64_t> addresses, int node, int flags,
                        std::span<int> status, std::stop_token stop);

}  // namespace etmem::movers
