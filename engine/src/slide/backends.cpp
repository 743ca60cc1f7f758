#include "etmem/slide/backends.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "etmem/unique_fd.hpp"

namespace etmem::slide {

std::string_view toString(ScannerKind kind) {
    switch (kind) {
        case ScannerKind::Auto:
            return "auto";
        case ScannerKind::IdlePage:
            return "idle_page";
        case ScannerKind::Damon:
            return "damon";
        case ScannerKind::IdlePages:
            return "idle_pages";
    }
    return "auto";
}

std::string_view toString(SwapperKind kind) {
    switch (kind) {
        case SwapperKind::Auto:
            return "auto";
        case SwapperKind::Madvise:
            return "madvise";
        case SwapperKind::SwapPages:
            return "swap_pages";
    }
    return "auto";
}

ScannerKind parseScannerKind(std::string_view text) {
    for (auto kind :
         {ScannerKind::Auto, ScannerKind::IdlePage, ScannerKind::Damon, ScannerKind::IdlePages})
        if (text == toString(kind)) return kind;
    throw std::invalid_argument(
        fmt::format("unknown scanner '{}': use auto, idle_page, damon or idle_pages", text));
}

SwapperKind parseSwapperKind(std::string_view text) {
    for (auto kind : {SwapperKind::Auto, SwapperKind::Madvise, SwapperKind::SwapPages})
        if (text == toString(kind)) return kind;
    throw std::invalid_argument(
        fmt::format("unknown swapper '{}': use auto, madvise or swap_pages", text));
}

int openTargetFile(const Target& target, const std::filesystem::path& procRoot, const char* file,
                   int flags) {
    auto path = procRoot / std::to_string(target.pid) / file;
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    int error = errno;
    // Checked after the open: while the pidfd's process runs, its pid is not reused, so a
    // file opened now belongs to it.
    if (!target.alive()) throw TargetGone(fmt::format("process {} exited", target.pid));
    if (!fd) {
        if (error == ESRCH) throw TargetGone(fmt::format("process {} exited", target.pid));
        if (error == EACCES || error == EPERM)
            throw BackendUnavailable(fmt::format(
                "no permission to open {}: run etmemd as root (CAP_SYS_ADMIN, CAP_SYS_NICE, "
                "ptrace access to the target)",
                path.string()));
        if (error == ENODEV)
            throw BackendUnavailable(fmt::format(
                "{} needs a kernel module that is not loaded: load it or choose another "
                "backend",
                path.string()));
        throw BackendUnavailable(fmt::format("cannot open {}: {}", path.string(),
                                             std::generic_category().message(error)));
    }
    return fd.release();
}

void clearSoftDirty(int clearRefsFd) {
    for (;;) {
        if (::pwrite(clearRefsFd, "4", 1, 0) == 1) return;
        if (errno == EINTR) continue;
        if (errno == ESRCH) throw TargetGone("the process exited");
        throw std::system_error(errno, std::generic_category(), "writing 4 to clear_refs");
    }
}

namespace {

bool swapIsActive(const KernelPaths& paths) {
    std::ifstream swaps(paths.proc / "swaps");
    std::string line;
    std::getline(swaps, line);  // header
    while (std::getline(swaps, line))
        if (!line.empty()) return true;
    return false;
}

bool processMadviseExists() {
    // With an invalid pidfd the syscall answers EBADF if it exists, ENOSYS if not.
    long result = ::syscall(SYS_process_madvise, -1, nullptr, 0, MADV_PAGEOUT, 0);
    return !(result < 0 && errno == ENOSYS);
}

std::string readFirstLine(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

bool canOpen(const std::filesystem::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    return fd.valid();
}

}  // namespace

BackendProbe probeBackends(const KernelPaths& paths) {
    BackendProbe probe;
    auto bitmap = paths.sys / "kernel/mm/page_idle/bitmap";
    probe.idlePageTracking = canOpen(bitmap, O_RDWR);
    if (!probe.idlePageTracking)
        probe.missing.push_back(std::filesystem::exists(bitmap)
                                    ? "no permission on /sys/kernel/mm/page_idle/bitmap: run "
                                      "etmemd as root to use idle page tracking"
                                    : "the kernel has no idle page tracking "
                                      "(CONFIG_IDLE_PAGE_TRACKING): the idle_page scanner is "
                                      "not available");
    probe.idlePagesModule = canOpen(paths.proc / "self/idle_pages", O_RDONLY);
    if (!probe.idlePagesModule)
        probe.missing.push_back(
            "/proc/PID/idle_pages is not available (openEuler etmem_scan module not loaded): "
            "the idle_pages scanner is not available");
    auto damonAdmin = paths.sys / "kernel/mm/damon/admin/kdamonds/nr_kdamonds";
    // access() and reads only: probing must not touch DAMON.
    bool damonWritable = ::access(damonAdmin.c_str(), W_OK) == 0;
    // Usable only where etmem may claim a kdamond: nobody has any (etmem may create its
    // pool), or etmem created some earlier. Another tool's kdamonds are never taken over.
    bool damonClaimable = readFirstLine(damonAdmin) == "0" ||
                          std::filesystem::exists(paths.run / "damon/kdamond-0.lock");
    probe.damon = damonWritable && damonClaimable;
    if (!damonWritable)
        probe.missing.push_back(std::filesystem::exists(damonAdmin)
                                    ? "no permission on the DAMON sysfs interface: run etmemd "
                                      "as root to use the damon scanner"
                                    : "the kernel has no DAMON sysfs interface "
                                      "(CONFIG_DAMON_SYSFS, CONFIG_DAMON_VADDR): the damon "
                                      "scanner is not available");
    else if (!damonClaimable)
        probe.missing.push_back(
            "DAMON is in use by another tool (its kdamonds exist and none is etmem's): the "
            "damon scanner is not available until they are removed");
    probe.processMadvise = processMadviseExists();
    if (!probe.processMadvise)
        probe.missing.push_back(
            "the kernel has no process_madvise (Linux 5.10+): the madvise swapper is not "
            "available");
    probe.swapPagesModule = std::filesystem::exists(paths.proc / "self/swap_pages");
    if (!probe.swapPagesModule)
        probe.missing.push_back(
            "/proc/PID/swap_pages is not available (openEuler etmem_swap module not loaded): "
            "the swap_pages swapper is not available");
    probe.swapActive = swapIsActive(paths);
    if (!probe.swapActive)
        probe.missing.push_back(
            "no swap device is active: cold pages cannot be swapped out; turn on a swap "
            "device (zram or a swap partition/file, see swapon(8))");
    return probe;
}

std::unique_ptr<AccessScanner> makeScanner(ScannerKind kind, const BackendProbe& probe,
                                           const KernelPaths& paths, std::string& why,
                                           const DamonTuning& damon) {
    // Preference: the openEuler module (cheapest, tells writes), then idle page tracking
    // (page granularity), then DAMON (region granularity, bounded overhead).
    if ((kind == ScannerKind::Auto || kind == ScannerKind::IdlePages) && probe.idlePagesModule)
        return makeIdlePagesScanner(paths);
    if ((kind == ScannerKind::Auto || kind == ScannerKind::IdlePage) && probe.idlePageTracking)
        return makeIdlePageScanner(paths);
    if ((kind == ScannerKind::Auto || kind == ScannerKind::Damon) && probe.damon)
        return makeDamonScanner(paths, damon);
    if (kind == ScannerKind::IdlePages)
        why =
            "the idle_pages scanner needs openEuler's etmem_scan module "
            "(/proc/PID/idle_pages): load it, or set scanner to auto";
    else if (kind == ScannerKind::IdlePage)
        why =
            "the idle_page scanner needs idle page tracking "
            "(/sys/kernel/mm/page_idle/bitmap, CONFIG_IDLE_PAGE_TRACKING, root): use a "
            "kernel that has it, or set scanner to auto";
    else
        why =
            "no access scanner is available: this kernel has neither idle page tracking "
            "(CONFIG_IDLE_PAGE_TRACKING) nor openEuler's etmem_scan module, or etmemd does "
            "not run as root";
    return nullptr;
}

std::unique_ptr<Swapper> makeSwapper(SwapperKind kind, const BackendProbe& probe,
                                     const KernelPaths& paths, std::string& why) {
    // Preference: process_madvise (mainline, per-range progress), then etmem_swap.
    if ((kind == SwapperKind::Auto || kind == SwapperKind::Madvise) && probe.processMadvise)
        return makeMadviseSwapper();
    if ((kind == SwapperKind::Auto || kind == SwapperKind::SwapPages) && probe.swapPagesModule)
        return makeSwapPagesSwapper(paths);
    if (kind == SwapperKind::SwapPages)
        why =
            "the swap_pages swapper needs openEuler's etmem_swap module "
            "(/proc/PID/swap_pages): load it, or set swapper to auto";
    else
        why =
            "no swapper is available: the kernel has no process_madvise (Linux 5.10+) and "
            "no etmem_swap module";
    return nullptr;
}

}  // namespace etmem::slide
