// SPDX-License-Identifier: MulanPSL-2.0
// Movers: what an engine does with the pages it chose. A Mover asks the kernel to take page
// ranges of a target to a destination (swap today; a NUMA node next), then confirms from the
// kernel which pages are there, so the figures count what happened, not what was asked.
//
// Chains (a fast node, then a slow node, then swap, by how many cycles a page has stayed
// cold) are a policy over several movers, not a mover of their own.
//
// Adding a mover is one file plus one row: the file (engine/src/movers/<name>_mover.cpp)
// defines the Mover and its make function, declared in engine/src/movers/movers.hpp; the
// row in kMovers (engine/src/movers/movers.cpp) ties a destination kind to that function.
// The node mover, for instance, is node_mover.cpp and the row
//     {Destination::Kind::Node, makeNodeMover},
// its move() calling move_pages(2) with the destination's node for each page of the ranges,
// its confirm() counting the pages whose status move_pages reports as that node (the
// pagemap fd of MoveTarget is not needed), its unavailable() saying when the node has no
// memory online. The engines need no change: they hand ranges to whichever mover the
// destination names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/movers/node_pages.hpp"
#include "etmem/process.hpp"

namespace etmem::movers {

using kernel::PageRange;

// Where a mover takes pages.
struct Destination {
    enum class Kind {
        Swap,  // out of memory, to the active swap devices
        Node,  // to another NUMA node's memory (move_pages(2))
    };
    Kind kind = Kind::Swap;
    int node = -1;  // Kind::Node: the node's number

    static Destination swap() { return {}; }
    static Destination numaNode(int node) { return {Kind::Node, node}; }
    // "swap", "node 1": how the journal and errors name it.
    std::string describe() const;
    bool operator==(const Destination&) const = default;
};

// What a mover is made from. Documented field by field; a mover reads only its own.
struct MoverConfig {
    Destination destination;
    // Kind::Swap: the swap backend (madvise: process_madvise(MADV_PAGEOUT); swap_pages:
    // openEuler's etmem_swap module); auto picks the first this machine offers.
    backends::SwapperChoice swapper{};
    // Where the kernel interfaces live (tests point them elsewhere).
    kernel::KernelPaths paths;
    // Tests: this backend instead of one chosen by probing, and whether swap is active
    // instead of reading /proc/swaps.
    std::shared_ptr<backends::Swapper> swapperOverride;
    std::optional<bool> swapActiveOverride;
    // Kind::Node: also move pages the target shares with other processes (MPOL_MF_MOVE_ALL;
    // needs CAP_SYS_NICE). By default only the target's own pages move (MPOL_MF_MOVE).
    bool moveShared = false;
    // Tests: this move_pages instead of the kernel's.
    std::shared_ptr<PageNodes> pageNodesOverride;
};

// One target as a mover sees it during a cycle: the process, and its pagemap already open
// (a swap mover confirms from it; a node mover would not need it).
struct MoveTarget {
    const Target& target;
    int pagemapFd = -1;
};

class Mover {
  public:
    virtual ~Mover() = default;
    // The backend's name, as the journal and the statistics show it ("madvise").
    virtual std::string_view name() const = 0;
    virtual const Destination& destination() const = 0;
    // What keeps the destination from taking pages now (a sentence that says what to fix),
    // or "" when it can. Read once per cycle, before anything is moved.
    virtual std::string unavailable() const = 0;
    // Asks the kernel to move these ranges. Returns the bytes the kernel accepted to work
    // on: not proof of anything, only logged. Returns promptly once stop is requested (a
    // caller hands it at most kMaxBytesPerCall and kMaxIovecsPerCall ranges at a time).
    // Throws kernel::TargetGone or kernel::BackendUnavailable.
    virtual std::uint64_t move(const MoveTarget& target, std::span<const PageRange> ranges,
                               std::stop_token stop) = 0;
    // How many pages of these ranges the kernel now shows at the destination. Stops early
    // (counting what it read so far) once stop is requested.
    virtual std::uint64_t confirm(const MoveTarget& target, std::span<const PageRange> ranges,
                                  std::stop_token stop) = 0;
    // Pages the kernel refused one by one since the last call (busy, pinned), for the
    // journal; a mover that cannot tell returns 0.
    virtual std::uint64_t takePageErrors() { return 0; }
};

// The mover for a config, or nullptr with `why` set when this machine cannot offer it.
// Making one changes nothing: a mover acts only from move().
std::unique_ptr<Mover> makeMover(const MoverConfig& config, const backends::BackendProbe& probe,
                                 std::string& why);

}  // namespace etmem::movers
