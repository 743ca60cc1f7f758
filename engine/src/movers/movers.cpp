// SPDX-License-Identifier: MulanPSL-2.0
// The movers by destination: explicit rows, so a static library keeps every one of them
// (self-registering objects would be dropped by the linker when nothing references them).
#include <fmt/format.h>

#include "movers/movers.hpp"

namespace etmem::movers {
namespace {

struct MoverRow {
    Destination::Kind kind;
    std::unique_ptr<Mover> (*make)(const MoverConfig&, const backends::BackendProbe&, std::string&);
};

// A new mover: its file and one row here (its make function declared in movers.hpp).
constexpr MoverRow kMovers[] = {
    {Destination::Kind::Swap, makeSwapMover},
    {Destination::Kind::Node, makeNodeMover},
};

}  // namespace

std::string Destination::describe() const {
    switch (kind) {
        case Kind::Swap:
            return "swap";
        case Kind::Node:
            return fmt::format("node {}", node);
    }
    return "";
}

std::unique_ptr<Mover> makeMover(const MoverConfig& config, const backends::BackendProbe& probe,
                                 std::string& why) {
    for (const auto& row : kMovers)
        if (row.kind == config.destination.kind) return row.make(config, probe, why);
    why = fmt::format("etmem cannot move pages to {} yet", config.destination.describe());
    return nullptr;
}

}  // namespace etmem::movers
