// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/target_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "etmem/kernel/errors.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::kernel {

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

}  // namespace etmem::kernel
