// SPDX-License-Identifier: MulanPSL-2.0
#include "scanners/damon/damon_sysfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "etmem/kernel/files.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::scanners::damon {

void writeDamonFile(const std::filesystem::path& path, std::string_view text, std::stop_token stop,
                    std::chrono::microseconds patience) {
    auto deadline = Clock::now() + patience;
    for (;;) {
        try {
            kernel::writeText(path, text);
            return;
        } catch (const std::system_error& e) {
            if (e.code().value() != EBUSY || Clock::now() >= deadline || stop.stop_requested())
                throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::string readDamonState(const std::filesystem::path& kdamond, std::stop_token stop,
                           std::chrono::microseconds patience) {
    auto deadline = Clock::now() + patience;
    for (;;) {
        UniqueFd fd(::open((kdamond / "state").c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return "";
        char text[16];
        ssize_t got = ::read(fd.get(), text, sizeof text);
        if (got > 0) return std::string(text, got - (text[got - 1] == '\n' ? 1 : 0));
        if (got == 0 || errno != EBUSY || Clock::now() >= deadline || stop.stop_requested())
            return "";
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace etmem::scanners::damon
