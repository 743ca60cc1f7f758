// DAMON with the vaddr operations, through /sys/kernel/mm/damon/admin.
//
// Each watched target gets a kdamond of its own (a context has several targets, but the
// regions a scheme reports do not say which target they belong to). etmem never disturbs
// another user's kdamonds: writing nr_kdamonds recreates all of them, so etmem writes it only
// when it is 0 (nobody has any), creating a pool of kDamonPoolSize for itself, and records each as
// its own with a lock file <run>/damon/kdamond-<i>.lock. A kdamond is in use while its lock
// file is flock()ed; the lock ends with the process, so after a crash the kdamond is free
// again and the next claim turns it off and reuses it.
//
// A round: `update_schemes_tried_regions` on a `stat` scheme that matches every region, then
// the regions' nr_accesses: a region with nr_accesses > 0 in the last aggregation interval
// counts as read (region granularity). Pagemap's soft-dirty bit supplies the written signal
// per page, and clear_refs 4 re-arms it (and flushes the target's TLB).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <mutex>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "etmem/slide/backends.hpp"
#include "etmem/slide/pagemap.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::slide {
namespace {

namespace fs = std::filesystem;

void writeText(const fs::path& path, std::string_view text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("writing '{}' to {}", text, path.string()));
}

std::string readText(const fs::path& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

std::uint64_t readNumber(const fs::path& path) {
    std::string text = readText(path);
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

UniqueFd lockFile(const fs::path& path, bool create, bool wait) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (!fd) return fd;
    if (::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) return UniqueFd();
    return fd;
}

}  // namespace

KdamondClaim claimKdamond(const KernelPaths& paths) {
    fs::path kdamonds = paths.sys / "kernel/mm/damon/admin/kdamonds";
    fs::path runDir = paths.run / "damon";
    std::error_code ec;
    fs::create_directories(runDir, ec);
    UniqueFd admin = lockFile(runDir / "admin.lock", true, true);
    if (!admin)
        throw BackendUnavailable(fmt::format("cannot lock {}: etmemd must run as root",
                                             (runDir / "admin.lock").string()));
    auto lockOf = [&](std::uint64_t i) { return runDir / fmt::format("kdamond-{}.lock", i); };
    std::uint64_t count = readNumber(kdamonds / "nr_kdamonds");
    if (count == 0) {
        writeText(kdamonds / "nr_kdamonds", std::to_string(kDamonPoolSize));
        for (int i = 0; i < kDamonPoolSize; ++i)
            UniqueFd created(::open(lockOf(i).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
        count = kDamonPoolSize;
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        if (!fs::exists(lockOf(i))) continue;  // not etmem's
        UniqueFd claim = lockFile(lockOf(i), false, false);
        if (claim) return KdamondClaim{kdamonds / std::to_string(i), std::move(claim)};
    }
    throw BackendUnavailable(fmt::format(
        "DAMON is in use: {} kdamonds exist and none is a free one of etmem's (another tool "
        "owns them, or etmem's {} are all busy); stop the other DAMON user or use another "
        "scanner",
        count, kDamonPoolSize));
}

int releaseStaleKdamonds(const KernelPaths& paths) {
    fs::path kdamonds = paths.sys / "kernel/mm/damon/admin/kdamonds";
    fs::path runDir = paths.run / "damon";
    if (!fs::exists(runDir / "admin.lock")) return 0;  // etmem never created any here
    UniqueFd admin = lockFile(runDir / "admin.lock", false, true);
    if (!admin) return 0;
    int released = 0;
    std::uint64_t count = readNumber(kdamonds / "nr_kdamonds");
    for (std::uint64_t i = 0; i < count; ++i) {
        auto lock = runDir / fmt::format("kdamond-{}.lock", i);
        if (!fs::exists(lock)) continue;
        UniqueFd claim = lockFile(lock, false, false);
        if (!claim) continue;  // in use by a live etmem
        auto state = kdamonds / std::to_string(i) / "state";
        if (readText(state) == "on") {
            writeText(state, "off");
            ++released;
        }
    }
    return released;
}

namespace {

class DamonSession final : public ScanSession {
  public:
    DamonSession(const Target& target, std::span<const Vma> vmas, const KernelPaths& paths)
        : target_(target.pid),
          vmas_(vmas.begin(), vmas.end()),
          pagemap_(openTargetFile(target, paths.proc, "pagemap", O_RDONLY)),
          clearRefs_(openTargetFile(target, paths.proc, "clear_refs", O_WRONLY)),
          present_(pagemap_.get(), pagemapScanAvailable()),
          kdamond_(claimKdamond(paths)) {
        // A crashed daemon may have left it running.
        if (readText(kdamond_.dir / "state") == "on") writeText(kdamond_.dir / "state", "off");
        configure(target.pid);
        writeText(kdamond_.dir / "state", "on");
        running_ = true;
        clearSoftDirty(clearRefs_.get());
    }

    ~DamonSession() override {
        if (!running_) return;
        try {
            writeText(kdamond_.dir / "state", "off");
        } catch (const std::exception&) {
            // It stops by itself once its target is gone.
        }
    }

    void round(std::stop_token stop, AccessSink& sink) override {
        auto scheme = kdamond_.dir / "contexts/0/schemes/0";
        try {
            writeText(kdamond_.dir / "state", "update_schemes_tried_regions");
        } catch (const std::system_error&) {
            // The kdamond ends when its target exits.
            if (readText(kdamond_.dir / "state") != "on") throw TargetGone("the process exited");
            throw;
        }
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(scheme / "tried_regions", ec)) {
            if (stop.stop_requested()) return;
            if (!entry.is_directory()) continue;
            std::uint64_t start = readNumber(entry.path() / "start");
            std::uint64_t end = readNumber(entry.path() / "end");
            if (end > start && readNumber(entry.path() / "nr_accesses") > 0)
                sink.record(start, (end - start) / kPageSize, PageAccess::Read);
        }
        // Written pages, per page, from soft-dirty (pagemap read where pages are present).
        for (const auto& vma : vmas_) {
            bool complete = present_.read(
                vma.range, isDense(vma), stop,
                [&](std::uint64_t address, std::span<const PagemapEntry> entries) {
                    for (std::size_t i = 0; i < entries.size(); ++i)
                        if (entries[i].present() && entries[i].softDirty())
                            sink.record(address + i * kPageSize, 1, PageAccess::Written);
                });
            if (!complete) return;
        }
        clearSoftDirty(clearRefs_.get());
    }

  private:
    void configure(pid_t pid) {
        auto context = kdamond_.dir / "contexts/0";
        writeText(kdamond_.dir / "contexts/nr_contexts", "1");
        writeText(context / "operations", "vaddr");
        auto attrs = context / "monitoring_attrs";
        writeText(attrs / "intervals/sample_us", "5000");
        writeText(attrs / "intervals/aggr_us", "100000");
        writeText(attrs / "intervals/update_us", "1000000");
        writeText(attrs / "nr_regions/max", "2000");
        writeText(attrs / "nr_regions/min", "10");
        writeText(context / "targets/nr_targets", "1");
        writeText(context / "targets/0/pid_target", std::to_string(pid));
        writeText(context / "schemes/nr_schemes", "1");
        auto scheme = context / "schemes/0";
        writeText(scheme / "action", "stat");
        // Match every region: the default pattern (0..0) would match none.
        auto pattern = scheme / "access_pattern";
        writeText(pattern / "sz/min", "0");
        writeText(pattern / "sz/max", std::to_string(~std::uint64_t{0}));
        writeText(pattern / "nr_accesses/min", "0");
        writeText(pattern / "nr_accesses/max", std::to_string(~std::uint32_t{0}));
        writeText(pattern / "age/min", "0");
        writeText(pattern / "age/max", std::to_string(~std::uint32_t{0}));
    }

    pid_t target_;
    std::vector<Vma> vmas_;
    UniqueFd pagemap_;
    UniqueFd clearRefs_;
    PresentPagemap present_;
    KdamondClaim kdamond_;
    bool running_ = false;
};

class DamonScanner final : public AccessScanner {
  public:
    explicit DamonScanner(KernelPaths paths) : paths_(std::move(paths)) {}
    std::string_view name() const override { return "damon"; }
    std::unique_ptr<ScanSession> watch(const Target& target, std::span<const Vma> vmas,
                                       std::stop_token) override {
        // Crash recovery on first use, not when the scanner is made: making (naming) a
        // backend must not change anything.
        std::call_once(recovered_, [this] {
            try {
                releaseStaleKdamonds(paths_);
            } catch (const std::exception&) {
                // Best effort; the next claim turns a stale kdamond off anyway.
            }
        });
        try {
            return std::make_unique<DamonSession>(target, vmas, paths_);
        } catch (const std::system_error& e) {
            if (!target.alive()) throw TargetGone("the process exited");
            throw BackendUnavailable(fmt::format("DAMON could not be set up: {}", e.what()));
        }
    }

  private:
    KernelPaths paths_;
    std::once_flag recovered_;
};

}  // namespace

std::unique_ptr<AccessScanner> makeDamonScanner(const KernelPaths& paths) {
    return std::make_unique<DamonScanner>(paths);
}

}  // namespace etmem::slide
