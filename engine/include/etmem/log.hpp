// SPDX-License-Identifier: MulanPSL-2.0
// The logging seam between the engine and whoever hosts it. The engine says what happened
// and to which project/task/pid; the host (etmemd) decides where it goes (journal, stderr).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace etmem {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 };

// Structured fields attached to a message (empty/0 when not applicable).
struct LogContext {
    std::string project;
    std::string task;  // "<type>:<value>", e.g. "name:mysqld"
    pid_t pid = 0;
};

class Logger {
  public:
    virtual ~Logger() = default;
    virtual void log(LogLevel level, const LogContext& context, std::string_view message) = 0;
};

// Discards everything; for tests and tools that do not care.
class NullLogger final : public Logger {
  public:
    void log(LogLevel, const LogContext&, std::string_view) override {}
};

}  // namespace etmem
