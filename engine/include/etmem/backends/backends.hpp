// SPDX-License-Identifier: MulanPSL-2.0
// The engines' backends: access scanners (which pages were used) and swappers (push pages
// out), chosen by probing the running kernel, overridable by configuration.
//
// Each backend is one row of kScannerRows or kSwapperRows below: the name a config pins,
// what it needs, how to probe for it and how to make it. The config schema's accepted names,
// the probe, the sentence for a missing backend and the factory all read the rows
// (engine/src/backends/registry.cpp); `auto` picks the first available in row order.
//
// Adding a scanner: a file engine/src/scanners/<what>_scanner.cpp that defines
// probe<What>Scanner and make<What>Scanner (in etmem::backends), and here their two declarations
// and its row in kScannerRows, where its place ranks it for auto. A swapper likewise, under
// engine/src/swappers/ and in kSwapperRows.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/config.hpp"
#include "etmem/kernel/errors.hpp"
#include "etmem/kernel/idle_pages_format.hpp"
#include "etmem/kernel/memory_map.hpp"
#include "etmem/kernel/paths.hpp"
#include "etmem/kernel/target_files.hpp"
#include "etmem/process.hpp"

namespace etmem::backends {

// The engines and their backends speak the kernel's vocabulary (pages, ranges, mappings,
// its paths and its errors).
using kernel::KernelPaths;
using kernel::PageAccess;
using kernel::PageRange;
using kernel::Vma;

// Receives a round's observations: `pages` pages from `address` were accessed as `access`.
// Pages not reported were idle.
class AccessSink {
  public:
    virtual ~AccessSink() = default;
    virtual void record(std::uint64_t address, std::uint64_t pages, PageAccess access) = 0;
};

// Watching one target during one cycle.
class ScanSession {
  public:
    virtual ~ScanSession() = default;
    // Reports what was accessed since the previous round (or since the session began), then
    // re-arms. Returns promptly once stop is requested. Throws TargetGone.
    virtual void round(std::stop_token stop, AccessSink& sink) = 0;
};

class AccessScanner {
  public:
    virtual ~AccessScanner() = default;
    virtual std::string_view name() const = 0;
    // True when every observation covers present pages only (page-granular scanners): the
    // engine may then keep state for any page it hears of. False (region scanners such as
    // DAMON, whose regions may span unpopulated address space): only pages the engine has
    // seen present get state.
    virtual bool reportsOnlyPresentPages() const { return false; }
    // Starts watching these candidate ranges of the target: sets the baseline (marks the
    // pages idle). Throws TargetGone or BackendUnavailable.
    virtual std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                               std::stop_token stop) = 0;
    // Called once a cycle's targets are all watched. A scanner that watches them together
    // (DAMON: one kdamond for them all) starts here; its failure is reported by each
    // session's round.
    virtual void beginWatching(std::stop_token) {}
};

class Swapper {
  public:
    virtual ~Swapper() = default;
    virtual std::string_view name() const = 0;
    // Asks the kernel to swap these ranges of the target out. Returns the bytes the kernel
    // accepted to work on (not proof of swapping: the engine reads pagemap back for that).
    // Throws TargetGone or BackendUnavailable.
    virtual std::uint64_t swapOut(const Target& target, std::span<const PageRange> ranges,
                                  std::stop_token stop) = 0;
};

// What a backend is made from: where the kernel's files are, what the probe found, and the
// project whose keys a backend may read (DAMON: the interval and the region keys).
struct BackendSettings {
    const KernelPaths& paths;
    bool pagemapScan = false;  // the PAGEMAP_SCAN ioctl may be used
    const ProjectConfig& project;
};

// Whether this machine offers a backend: "" when it does, else a sentence that says what is
// missing here and what to do. Probing only opens, reads and access()es files and makes
// get-only calls: it starts, stops and claims nothing.
using BackendProbeFn = std::string (*)(const KernelPaths& paths);

// One row of the registry. `needs` is said when the backend is pinned but missing.
template <typename Backend>
struct BackendRow {
    std::string_view name;
    std::string_view needs;
    BackendProbeFn probe;
    // Makes the backend; making one changes nothing (a scanner acts only from watch()).
    std::unique_ptr<Backend> (*make)(const BackendSettings& settings);
    // The config keys `make` reads from the project, besides the interval (none: {}).
    std::span<const std::string_view> settings = {};
};
using ScannerRow = BackendRow<AccessScanner>;
using SwapperRow = BackendRow<Swapper>;

// The backends, one row each, in the order `auto` tries them. A backend's file (under
// engine/src/scanners/ or engine/src/swappers/) defines the two functions its row names.
std::string probeEtmemScanModuleScanner(const KernelPaths& paths);
std::unique_ptr<AccessScanner> makeEtmemScanModuleScanner(const BackendSettings& settings);
std::string probePageIdleBitmapScanner(const KernelPaths& paths);
std::unique_ptr<AccessScanner> makePageIdleBitmapScanner(const BackendSettings& settings);
std::string probeDamonScanner(const KernelPaths& paths);
std::unique_ptr<AccessScanner> makeDamonScanner(const BackendSettings& settings);
inline constexpr std::string_view kDamonSettings[] = {
    "sample_interval", "aggr_interval", "update_interval", "min_nr_regions", "max_nr_regions"};
inline constexpr ScannerRow kScannerRows[] = {
    {"idle_pages",
     "openEuler's etmem_scan module (/proc/PID/idle_pages): cheapest, tells writes from reads",
     probeEtmemScanModuleScanner, makeEtmemScanModuleScanner},
    {"idle_page",
     "idle page tracking (/sys/kernel/mm/page_idle/bitmap, CONFIG_IDLE_PAGE_TRACKING) and "
     "root: page granularity",
     probePageIdleBitmapScanner, makePageIdleBitmapScanner},
    {"damon",
     "DAMON's sysfs interface (/sys/kernel/mm/damon/admin, CONFIG_DAMON_SYSFS and "
     "CONFIG_DAMON_VADDR), not in use by another tool, and root: region granularity",
     probeDamonScanner, makeDamonScanner, kDamonSettings},
};

std::string probeMadviseSwapper(const KernelPaths& paths);
std::unique_ptr<Swapper> makeMadviseSwapper(const BackendSettings& settings);
std::string probeSwapPagesSwapper(const KernelPaths& paths);
std::unique_ptr<Swapper> makeSwapPagesSwapper(const BackendSettings& settings);
inline constexpr SwapperRow kSwapperRows[] = {
    {"madvise", "process_madvise(MADV_PAGEOUT) (Linux 5.10+), CAP_SYS_NICE and ptrace access",
     probeMadviseSwapper, makeMadviseSwapper},
    {"swap_pages", "openEuler's etmem_swap module (/proc/PID/swap_pages)", probeSwapPagesSwapper,
     makeSwapPagesSwapper},
};

// What a config may write for scanner / swapper: "auto" then the rows' names. Read at
// compile time, so the config reader needs none of the backends' code.
template <typename Backend, std::size_t N>
constexpr std::array<std::string_view, N + 1> namesOf(const BackendRow<Backend> (&rows)[N]) {
    std::array<std::string_view, N + 1> names{"auto"};
    for (std::size_t i = 0; i < N; ++i) names[i + 1] = rows[i].name;
    return names;
}
inline constexpr auto kScannerNames = namesOf(kScannerRows);
inline constexpr auto kSwapperNames = namesOf(kSwapperRows);

// A backend a configuration names: one row, or auto (the first available in row order).
template <typename Backend>
class BackendChoice {
  public:
    using Row = BackendRow<Backend>;
    static constexpr BackendChoice automatic() { return BackendChoice(); }
    constexpr BackendChoice() = default;
    explicit constexpr BackendChoice(const Row& row) : row_(&row) {}
    bool isAuto() const { return row_ == nullptr; }
    const Row* row() const { return row_; }
    std::string_view name() const { return row_ ? row_->name : "auto"; }
    bool operator==(const BackendChoice&) const = default;

  private:
    const Row* row_ = nullptr;
};
using ScannerChoice = BackendChoice<AccessScanner>;
using SwapperChoice = BackendChoice<Swapper>;

template <typename Backend>
std::string_view toString(BackendChoice<Backend> choice) {
    return choice.name();
}
// One of kScannerNames / kSwapperNames; throws std::invalid_argument naming the accepted
// values.
ScannerChoice parseScannerChoice(std::string_view text);
SwapperChoice parseSwapperChoice(std::string_view text);

// What this machine offers: the backends available, and a sentence per missing piece.
struct BackendProbe {
    struct Missing {
        std::string backend;  // a row's name; "" for the swap device
        std::string sentence;
    };
    std::vector<std::string> available;  // the rows' names
    std::vector<Missing> missing;
    bool swapActive = false;   // an active swap device in /proc/swaps
    bool pagemapScan = false;  // the PAGEMAP_SCAN ioctl (Linux 6.7+)

    bool has(std::string_view backend) const;
    // Every sentence, in probe order (for the log).
    std::vector<std::string> sentences() const;
};

BackendProbe probeBackends(const KernelPaths& paths = {});

// The backend a choice resolves to on this machine (auto: the first available in row
// order), or nullopt with `why` set. Pure: nothing is made, so nothing is started.
std::optional<ScannerChoice> chooseScanner(ScannerChoice choice, const BackendProbe& probe,
                                           std::string& why);
std::optional<SwapperChoice> chooseSwapper(SwapperChoice choice, const BackendProbe& probe,
                                           std::string& why);

// The scanner/swapper for a choice, or nullptr with `why` set when it is not available.
std::unique_ptr<AccessScanner> makeScanner(ScannerChoice choice, const BackendProbe& probe,
                                           const BackendSettings& settings, std::string& why);
std::unique_ptr<Swapper> makeSwapper(SwapperChoice choice, const BackendProbe& probe,
                                     const BackendSettings& settings, std::string& why);

// Direct construction, for tests and benchmarks that want one backend whatever the probe.
std::unique_ptr<AccessScanner> makeIdlePageScanner(const KernelPaths& paths = {},
                                                   bool pagemapScan = false);
std::unique_ptr<Swapper> makeMadviseSwapper();  // needs no settings

}  // namespace etmem::backends
