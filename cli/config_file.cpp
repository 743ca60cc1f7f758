// SPDX-License-Identifier: MulanPSL-2.0
#include "config_file.hpp"

#include "text_util.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <etmem/unique_fd.hpp>

#include <cerrno>
#include <cstring>

namespace etmem::cli {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw ConfigFileError(fmt::format("cannot read config file '{}': {}", path, why));
}

void checkIsText(const std::string& path, const std::string& text) {
    if (auto nul = text.find('\0'); nul != std::string::npos)
        fail(path, fmt::format("it is not a text file (NUL byte on line {}); give a YAML config",
                               lineNumberAt(text, nul)));
    if (auto bad = firstInvalidUtf8(text))
        fail(path, fmt::format("line {} is not UTF-8 text; save the file as UTF-8",
                               lineNumberAt(text, *bad)));
}

}  // namespace

std::string readConfigFile(const std::string& path) {
    // O_NONBLOCK: opening a FIFO with no writer must not block; fstat then refuses it.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) fail(path, std::strerror(errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) fail(path, std::strerror(errno));
    if (!S_ISREG(info.st_mode))
        fail(path, fmt::format("it is {}, not a regular file; give the path of a config file",
                               S_ISDIR(info.st_mode)    ? "a directory"
                               : S_ISFIFO(info.st_mode) ? "a FIFO"
                               : S_ISCHR(info.st_mode)  ? "a character device"
                               : S_ISBLK(info.st_mode)  ? "a block device"
                               : S_ISSOCK(info.st_mode) ? "a socket"
                                                        : "a special file"));
    std::string text;
    char buffer[64 * 1024];
    for (;;) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) continue;
            fail(path, std::strerror(errno));
        }
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > kMaxConfigBytes)
            fail(path, fmt::format("it is larger than {} bytes (1 MiB), the most etmemd "
                                   "accepts; an etmem config is a few lines",
                                   kMaxConfigBytes));
    }
    checkIsText(path, text);
    return text;
}

}  // namespace etmem::cli
