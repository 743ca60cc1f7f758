// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/kernel/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

#include <fmt/format.h>

#include "etmem/unique_fd.hpp"

namespace etmem::kernel {

std::string readWholeFile(int fd) {
    std::string text;
    char buffer[65536];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
    }
    return text;
}

std::string readFirstLine(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return "";
    char text[4096];
    const ssize_t got = ::read(fd.get(), text, sizeof text);
    if (got <= 0) return "";
    std::string_view line(text, static_cast<std::size_t>(got));
    return std::string(line.substr(0, line.find('\n')));
}

std::uint64_t readNumber(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    char text[32];
    const ssize_t got = ::read(fd.get(), text, sizeof text);
    std::uint64_t value = 0;
    if (got > 0) std::from_chars(text, text + got, value);
    return value;
}

void writeText(const std::filesystem::path& path, std::string_view text) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("writing '{}' to {}", text, path.string()));
}

bool canOpen(const std::filesystem::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    return fd.valid();
}

}  // namespace etmem::kernel
