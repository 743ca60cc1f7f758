// SPDX-License-Identifier: MulanPSL-2.0
// etmem's pool of kdamonds and the claims on them (see etmem/scanners/damon.hpp).
#include <fcntl.h>
#include <sys/file.h>

#include <string>

#include <fmt/format.h>

#include "etmem/kernel/errors.hpp"
#include "etmem/kernel/files.hpp"
#include "etmem/scanners/damon.hpp"
#include "scanners/damon/damon_sysfs.hpp"

namespace etmem::scanners::damon {
namespace {

namespace fs = std::filesystem;
using kernel::BackendUnavailable;
using kernel::readNumber;
using kernel::writeText;

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
        auto kdamond = kdamonds / std::to_string(i);
        if (readDamonState(kdamond) == "on") {
            writeDamonFile(kdamond / "state", "off", {});
            ++released;
        }
    }
    return released;
}

}  // namespace etmem::scanners::damon
