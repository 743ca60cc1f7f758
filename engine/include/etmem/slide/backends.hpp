// The slide engine's backends: access scanners (which pages were used) and swappers (push
// pages out), chosen by probing the running kernel, overridable by configuration.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/config.hpp"
#include "etmem/process.hpp"
#include "etmem/slide/idle_pages_format.hpp"
#include "etmem/slide/memory_map.hpp"

namespace etmem::slide {

// The target exited (or its address space is gone): drop it from this cycle.
class TargetGone : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A backend cannot work here (missing feature, permission, no swap). what() is a sentence
// that says what to do.
class BackendUnavailable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

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

enum class ScannerKind { Auto, IdlePage, Damon, IdlePages };
enum class SwapperKind { Auto, Madvise, SwapPages };

// The backends, one entry each: the name a config pins, and what it needs (said when it is
// pinned but missing). The config schema, toString/parse, the probe's messages and the
// factories (backends.cpp, in the same order) all read these tables; `auto` picks the
// first available in this order.
struct BackendInfo {
    std::string_view name;
    std::string_view needs;
};
inline constexpr BackendInfo kScannerInfo[] = {
    {"idle_pages",
     "openEuler's etmem_scan module (/proc/PID/idle_pages): cheapest, tells writes from reads"},
    {"idle_page",
     "idle page tracking (/sys/kernel/mm/page_idle/bitmap, CONFIG_IDLE_PAGE_TRACKING) and "
     "root: page granularity"},
    {"damon",
     "DAMON's sysfs interface (/sys/kernel/mm/damon/admin, CONFIG_DAMON_SYSFS and "
     "CONFIG_DAMON_VADDR), not in use by another tool, and root: region granularity"},
};
inline constexpr ScannerKind kScannerKinds[] = {ScannerKind::IdlePages, ScannerKind::IdlePage,
                                                ScannerKind::Damon};
inline constexpr BackendInfo kSwapperInfo[] = {
    {"madvise", "process_madvise(MADV_PAGEOUT) (Linux 5.10+), CAP_SYS_NICE and ptrace access"},
    {"swap_pages", "openEuler's etmem_swap module (/proc/PID/swap_pages)"},
};
inline constexpr SwapperKind kSwapperKinds[] = {SwapperKind::Madvise, SwapperKind::SwapPages};
// What a config may write for scanner / swapper: "auto" then the backends' names.
inline constexpr std::string_view kScannerNames[] = {"auto", kScannerInfo[0].name,
                                                     kScannerInfo[1].name, kScannerInfo[2].name};
inline constexpr std::string_view kSwapperNames[] = {"auto", kSwapperInfo[0].name,
                                                     kSwapperInfo[1].name};

std::string_view toString(ScannerKind kind);
std::string_view toString(SwapperKind kind);
// One of kScannerNames / kSwapperNames; throws std::invalid_argument naming the accepted
// values.
ScannerKind parseScannerKind(std::string_view text);
SwapperKind parseSwapperKind(std::string_view text);

// Where the kernel interfaces live; tests point them elsewhere.
struct KernelPaths {
    std::filesystem::path proc = "/proc";
    std::filesystem::path sys = "/sys";
    // Where etmem keeps its claims on DAMON kdamonds (lock files; flock ends with the
    // process, so a crashed daemon's kdamond is free again).
    std::filesystem::path run = "/run/etmem";
};

// What this machine offers, and a sentence per missing piece. Probing only opens, reads and
// access()es files and makes get-only calls: it starts, stops and claims nothing.
struct BackendProbe {
    bool idlePageTracking = false;  // /sys/kernel/mm/page_idle/bitmap, read+write
    bool idlePagesModule = false;   // openEuler etmem_scan: /proc/PID/idle_pages
    bool damon = false;             // DAMON sysfs (/sys/kernel/mm/damon/admin), writable
    bool processMadvise = false;    // the process_madvise syscall
    bool swapPagesModule = false;   // openEuler etmem_swap: /proc/PID/swap_pages
    bool swapActive = false;        // an active swap device in /proc/swaps
    bool pagemapScan = false;       // the PAGEMAP_SCAN ioctl (Linux 6.7+)
    std::vector<std::string> missing;
};

BackendProbe probeBackends(const KernelPaths& paths = {});

// The backend a choice resolves to on this machine (auto: the first available in table
// order), or nullopt with `why` set. Pure: nothing is made, so nothing is started.
std::optional<ScannerKind> chooseScanner(ScannerKind kind, const BackendProbe& probe,
                                         std::string& why);
std::optional<SwapperKind> chooseSwapper(SwapperKind kind, const BackendProbe& probe,
                                         std::string& why);

// What the DAMON scanner derives its monitoring attributes from: the project's scan interval
// and its optional region keys (0: derived; see damon_scanner.cpp).
struct DamonTuning {
    std::uint64_t intervalUs = 1'000'000;
    RegionScanConfig region;
};
DamonTuning damonTuningOf(const ProjectConfig& project);
// The monitoring attributes the DAMON scanner writes (microseconds, region counts): the
// given keys, the rest derived from the interval and the candidates' size.
struct DamonAttrs {
    std::uint64_t sampleUs = 0;
    std::uint64_t aggrUs = 0;
    std::uint64_t updateUs = 0;
    std::uint64_t minNrRegions = 0;
    std::uint64_t maxNrRegions = 0;
    bool operator==(const DamonAttrs&) const = default;
};
DamonAttrs deriveDamonAttrs(const DamonTuning& tuning, std::span<const Vma> vmas);

// The scanner/swapper for a choice, or nullptr with `why` set when it is not available.
// Making one changes nothing either; a scanner acts only from watch().
std::unique_ptr<AccessScanner> makeScanner(ScannerKind kind, const BackendProbe& probe,
                                           const KernelPaths& paths, std::string& why,
                                           const DamonTuning& damon = {});
std::unique_ptr<Swapper> makeSwapper(SwapperKind kind, const BackendProbe& probe,
                                     const KernelPaths& paths, std::string& why);

std::unique_ptr<AccessScanner> makeIdlePageScanner(const KernelPaths& paths = {},
                                                   bool pagemapScan = false);
std::unique_ptr<AccessScanner> makeIdlePagesScanner(const KernelPaths& paths = {});
std::unique_ptr<AccessScanner> makeDamonScanner(const KernelPaths& paths = {},
                                                const DamonTuning& tuning = {});
std::unique_ptr<Swapper> makeMadviseSwapper();
std::unique_ptr<Swapper> makeSwapPagesSwapper(const KernelPaths& paths = {});

// One of etmem's DAMON kdamonds (<sys>/kernel/mm/damon/admin/kdamonds/<i>), claimed for as
// long as `lock` (an flock on <run>/damon/kdamond-<i>.lock) is held. Creates etmem's pool
// only when nr_kdamonds is 0; never rewrites nr_kdamonds otherwise (that would recreate
// other users' kdamonds). Throws BackendUnavailable when no kdamond of etmem's is free.
struct KdamondClaim {
    std::filesystem::path dir;
    UniqueFd lock;
};
inline constexpr int kDamonPoolSize = 32;
// A cycle's targets share one kdamond, up to this many (each has a scheme whose target filter
// the kernel checks by walking the targets: a window costs regions x targets^2 / 2).
inline constexpr std::size_t kMaxTargetsPerKdamond = 64;
KdamondClaim claimKdamond(const KernelPaths& paths);
// Crash recovery: turns off every kdamond of etmem's that nobody holds but is still on (its
// daemon died). Returns how many it turned off. Touches no kdamond that is not etmem's.
int releaseStaleKdamonds(const KernelPaths& paths);

// Opens /proc/PID/<file> of the target and checks afterwards that the pidfd's process still
// runs, so the file belongs to it and not to a process that reused the pid.
// Throws TargetGone, BackendUnavailable (EACCES/EPERM/ENODEV/ENOENT of the file itself).
int openTargetFile(const Target& target, const std::filesystem::path& procRoot, const char* file,
                   int flags);

// Writes "4" to the target's clear_refs: clears the soft-dirty bits (so pagemap bit 55
// marks pages written from now on) and makes the kernel flush the target's TLB
// (fs/proc/task_mmu.c clear_refs_write: flush_tlb_mm for CLEAR_REFS_SOFT_DIRTY), so
// accesses through translations cached before the pages were marked idle are seen.
void clearSoftDirty(int clearRefsFd);

}  // namespace etmem::slide
