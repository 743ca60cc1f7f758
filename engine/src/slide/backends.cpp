#include "etmem/slide/backends.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "etmem/slide/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {

namespace {

template <typename Kind, std::size_t N>
std::size_t indexOf(const Kind (&kinds)[N], Kind kind) {
    for (std::size_t i = 0; i < N; ++i)
        if (kinds[i] == kind) return i;
    return N;
}

template <std::size_t N>
std::string acceptedNames(const std::string_view (&names)[N]) {
    std::string text;
    for (std::size_t i = 0; i < N; ++i)
        text += fmt::format("{}{}", i == 0 ? "" : (i + 1 == N ? " or " : ", "), names[i]);
    return text;
}

}  // namespace

std::string_view toString(ScannerKind kind) {
    std::size_t i = indexOf(kScannerKinds, kind);
    return i < std::size(kScannerInfo) ? kScannerInfo[i].name : "auto";
}

std::string_view toString(SwapperKind kind) {
    std::size_t i = indexOf(kSwapperKinds, kind);
    return i < std::size(kSwapperInfo) ? kSwapperInfo[i].name : "auto";
}

ScannerKind parseScannerKind(std::string_view text) {
    if (text == "auto") return ScannerKind::Auto;
    for (auto kind : kScannerKinds)
        if (text == toString(kind)) return kind;
    throw std::invalid_argument(
        fmt::format("unknown scanner '{}': use {}", text, acceptedNames(kScannerNames)));
}

SwapperKind parseSwapperKind(std::string_view text) {
    if (text == "auto") return SwapperKind::Auto;
    for (auto kind : kSwapperKinds)
        if (text == toString(kind)) return kind;
    throw std::invalid_argument(
        fmt::format("unknown swapper '{}': use {}", text, acceptedNames(kSwapperNames)));
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
                                      "etmemd as root to use the idle_page scanner"
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
    probe.pagemapScan = pagemapScanAvailable();
    probe.swapActive = swapIsActive(paths);
    if (!probe.swapActive)
        probe.missing.push_back(
            "no swap device is active: cold pages cannot be swapped out; turn on a swap "
            "device (zram or a swap partition/file, see swapon(8))");
    return probe;
}

namespace {

bool available(ScannerKind kind, const BackendProbe& probe) {
    switch (kind) {
        case ScannerKind::IdlePages:
            return probe.idlePagesModule;
        case ScannerKind::IdlePage:
            return probe.idlePageTracking;
        case ScannerKind::Damon:
            return probe.damon;
        case ScannerKind::Auto:
            break;
    }
    return false;
}

bool available(SwapperKind kind, const BackendProbe& probe) {
    switch (kind) {
        case SwapperKind::Madvise:
            return probe.processMadvise;
        case SwapperKind::SwapPages:
            return probe.swapPagesModule;
        case SwapperKind::Auto:
            break;
    }
    return false;
}

std::unique_ptr<AccessScanner> construct(ScannerKind kind, const BackendProbe& probe,
                                         const KernelPaths& paths, const DamonTuning& damon) {
    switch (kind) {
        case ScannerKind::IdlePages:
            return makeIdlePagesScanner(paths);
        case ScannerKind::IdlePage:
            return makeIdlePageScanner(paths, probe.pagemapScan);
        case ScannerKind::Damon:
            return makeDamonScanner(paths, damon);
        case ScannerKind::Auto:
            break;
    }
    return nullptr;
}

std::unique_ptr<Swapper> construct(SwapperKind kind, const KernelPaths& paths) {
    switch (kind) {
        case SwapperKind::Madvise:
            return makeMadviseSwapper();
        case SwapperKind::SwapPages:
            return makeSwapPagesSwapper(paths);
        case SwapperKind::Auto:
            break;
    }
    return nullptr;
}

// "the damon scanner needs DAMON's sysfs interface ...: ..." or, for auto, every need.
template <typename Kind, std::size_t N>
std::string missingSentence(std::string_view what, Kind kind, const Kind (&kinds)[N],
                            const BackendInfo (&info)[N], const BackendProbe& probe) {
    if (kind != Kind::Auto) {
        std::size_t i = indexOf(kinds, kind);
        std::string why = fmt::format("the {} {} is not available: it needs {}", info[i].name, what,
                                      info[i].needs);
        // The probe's own sentence for this backend says what exactly is wrong here.
        for (const auto& missing : probe.missing)
            if (missing.find(fmt::format("the {} {}", info[i].name, what)) != std::string::npos)
                why += fmt::format(" ({})", missing);
        return why + "; provide it, or set " + std::string(what) + " to auto";
    }
    std::string why = fmt::format("no {} is available on this machine:", what);
    for (std::size_t i = 0; i < N; ++i)
        why += fmt::format("{} {} needs {}", i == 0 ? "" : ";", info[i].name, info[i].needs);
    return why;
}

}  // namespace

std::optional<ScannerKind> chooseScanner(ScannerKind kind, const BackendProbe& probe,
                                         std::string& why) {
    for (auto candidate : kScannerKinds)
        if ((kind == ScannerKind::Auto || kind == candidate) && available(candidate, probe))
            return candidate;
    why = missingSentence("scanner", kind, kScannerKinds, kScannerInfo, probe);
    return std::nullopt;
}

std::optional<SwapperKind> chooseSwapper(SwapperKind kind, const BackendProbe& probe,
                                         std::string& why) {
    for (auto candidate : kSwapperKinds)
        if ((kind == SwapperKind::Auto || kind == candidate) && available(candidate, probe))
            return candidate;
    why = missingSentence("swapper", kind, kSwapperKinds, kSwapperInfo, probe);
    return std::nullopt;
}

std::unique_ptr<AccessScanner> makeScanner(ScannerKind kind, const BackendProbe& probe,
                                           const KernelPaths& paths, std::string& why,
                                           const DamonTuning& damon) {
    auto chosen = chooseScanner(kind, probe, why);
    return chosen ? construct(*chosen, probe, paths, damon) : nullptr;
}

std::unique_ptr<Swapper> makeSwapper(SwapperKind kind, const BackendProbe& probe,
                                     const KernelPaths& paths, std::string& why) {
    auto chosen = chooseSwapper(kind, probe, why);
    return chosen ? construct(*chosen, paths) : nullptr;
}

}  // namespace etmem::slide
