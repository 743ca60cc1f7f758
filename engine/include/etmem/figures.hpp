// SPDX-License-Identifier: MulanPSL-2.0
// Named statistics: what a cycle counted, or how a task is set up, as an ordered list of
// named values. A new outcome (pages migrated to a node, say) is a new name that the
// scheduler totals, the daemon sums over tasks and reports, and the CLI shows, with no new
// field or signature on the way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace etmem {

using FigureValue = std::variant<std::uint64_t, double, std::string, bool>;

// How a project combines its tasks' values of one figure.
enum class Combine {
    Sum,   // counts: the tasks' values added
    Max,   // the largest (a duration: the tasks run side by side)
    Join,  // text: the distinct values, ", "-joined in task order
};

struct Figure {
    // snake_case and stable: it is the key on D-Bus and in `etmem project show --json`.
    std::string name;
    FigureValue value;
    Combine combine = Combine::Sum;
    // A count the task also keeps a total of since start, named "total_<name>".
    bool accumulates = false;

    bool operator==(const Figure&) const = default;
};

class FigureList {
  public:
    // Sets the figure of that name, appending it the first time (order is display order).
    void set(Figure figure);
    void setCount(std::string_view name, std::uint64_t value, bool accumulates = false);

    const Figure* find(std::string_view name) const;
    // The count of that name; 0 when there is none or it is not a count.
    std::uint64_t count(std::string_view name) const;

    // Folds another task's figures into these, each by its own Combine; names not seen yet
    // are appended.
    void combine(const FigureList& other);
    // Adds a cycle's accumulating counts into these totals, as "total_<name>".
    void accumulate(const FigureList& cycle);

    auto begin() const { return figures_.begin(); }
    auto end() const { return figures_.end(); }
    std::size_t size() const { return figures_.size(); }
    bool empty() const { return figures_.empty(); }

    bool operator==(const FigureList&) const = default;

  private:
    std::vector<Figure> figures_;
};

// The name under which a task totals an accumulating figure.
std::string totalName(std::string_view name);

// The names every engine that swaps reports (the slide engine's CycleReport fields).
namespace figure {
inline constexpr std::string_view kPagesScanned = "pages_scanned";
inline constexpr std::string_view kPagesHot = "pages_hot";
inline constexpr std::string_view kPagesCold = "pages_cold";
inline constexpr std::string_view kPagesSwapped = "pages_swapped";
inline constexpr std::string_view kBytesSwapped = "bytes_swapped";
inline constexpr std::string_view kTotalPagesSwapped = "total_pages_swapped";
inline constexpr std::string_view kTotalBytesSwapped = "total_bytes_swapped";
// mode observe (a dry run): what the cycle would have swapped out; accumulating.
inline constexpr std::string_view kWouldSwapPages = "would_swap_pages";
inline constexpr std::string_view kWouldSwapBytes = "would_swap_bytes";
// Pages etmem swapped out that came back resident in this cycle; accumulating.
inline constexpr std::string_view kRefaults = "refaults";
// The idle-age report: resident bytes cold for at least `ageCycles` consecutive cycles,
// one figure per age 1, 2, 4 ... ("idle_bytes_4").
inline constexpr std::string_view kIdleBytesPrefix = "idle_bytes_";
std::string idleBytesName(unsigned ageCycles);
}  // namespace figure

}  // namespace etmem
