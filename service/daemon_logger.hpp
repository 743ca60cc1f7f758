// SPDX-License-Identifier: MulanPSL-2.0
// etmemd's logger: the journal with structured fields when a journal listens, stderr
// otherwise. sd_journal_send reports success even with no journal, so the socket is probed.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>

#include "etmem/log.hpp"

namespace etmem::service {

class DaemonLogger final : public Logger {
  public:
    enum class Sink { Journal, Stderr };

    // The journal when its socket exists, stderr otherwise.
    explicit DaemonLogger(LogLevel threshold);
    DaemonLogger(LogLevel threshold, Sink sink);

    static Sink probeSink(const std::filesystem::path& journalSocket);
    // probeSink of the journal's own socket.
    static Sink probeSink();

    void log(LogLevel level, const LogContext& context, std::string_view message) override;
    void log(LogLevel level, std::string_view message) { log(level, LogContext{}, message); }

    LogLevel threshold() const { return threshold_.load(); }
    void setThreshold(LogLevel level) { threshold_.store(level); }
    Sink sink() const { return sink_.load(); }
    void setSink(Sink sink) { sink_.store(sink); }

  private:
    void toJournal(LogLevel level, const LogContext& context, std::string_view message);
    void toStderr(LogLevel level, const LogContext& context, std::string_view message);

    std::atomic<LogLevel> threshold_;
    std::atomic<Sink> sink_;
    std::mutex stderrMutex_;  // whole lines from concurrent workers
};

// The identifier etmemd's journal entries carry (SYSLOG_IDENTIFIER=).
inline constexpr std::string_view kSyslogIdentifier = "etmemd";

// A threshold as syslog names it, as org.freedesktop.LogControl1 reads: err, warning, info,
// debug.
std::string_view syslogLevelName(LogLevel level);
// A syslog level name (emerg..debug) as the threshold it sets: the nearest of the four
// etmemd logs at that logs no less than asked (emerg, alert, crit: err; notice: warning,
// since etmemd has no notice messages). nullopt for a name syslog does not have.
std::optional<LogLevel> levelFromSyslogName(std::string_view name);

}  // namespace etmem::service
