// etmemd's logger: the journal with structured fields when a journal listens, stderr
// otherwise. sd_journal_send reports success even with no journal, so the socket is probed.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>

#include "etmem/log.hpp"

namespace etmem::service {

class DaemonLogger final : public Logger {
  public:
    enum class Sink { Journal, Stderr };

    // The journal when its socket exists, stderr otherwise.
    explicit DaemonLogger(LogLevel threshold);
    DaemonLogger(LogLevel threshold, Sink sink);

    static Sink probeSink(const std::filesystem::path& journalSocket);

    void log(LogLevel level, const LogContext& context, std::string_view message) override;
    void log(LogLevel level, std::string_view message) { log(level, LogContext{}, message); }

    LogLevel threshold() const { return threshold_.load(); }
    void setThreshold(LogLevel level) { threshold_.store(level); }
    Sink sink() const { return sink_; }

  private:
    void toJournal(LogLevel level, const LogContext& context, std::string_view message);
    void toStderr(LogLevel level, const LogContext& context, std::string_view message);

    std::atomic<LogLevel> threshold_;
    Sink sink_;
    std::mutex stderrMutex_;  // whole lines from concurrent workers
};

}  // namespace etmem::service
