// SPDX-License-Identifier: MulanPSL-2.0
// Reading and writing the small text files of /proc and /sys.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace etmem::kernel {

// Everything left to read from an open file (retries EINTR; stops at the first error).
std::string readWholeFile(int fd);

// The first line of a small file (one read(2), without the newline); "" when unreadable.
std::string readFirstLine(const std::filesystem::path& path);

// The number a small sysfs file holds, read with one read(2) (an ifstream per file is costly
// at thousands of DAMON regions per window); 0 when unreadable.
std::uint64_t readNumber(const std::filesystem::path& path);

// Writes `text` with one write(2). Throws std::system_error naming the file and the text.
void writeText(const std::filesystem::path& path, std::string_view text);

// Whether the file opens with these flags (O_RDONLY, O_RDWR...) for this process.
bool canOpen(const std::filesystem::path& path, int flags);

}  // namespace etmem::kernel
