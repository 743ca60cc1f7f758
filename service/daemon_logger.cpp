// SPDX-License-Identifier: MulanPSL-2.0
#include "daemon_logger.hpp"

#include <fmt/format.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <sys/uio.h>

#include <cstdio>
#include <string>
#include <vector>

namespace etmem::service {
namespace {

int syslogPriority(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return LOG_DEBUG;
        case LogLevel::Info:
            return LOG_INFO;
        case LogLevel::Warning:
            return LOG_WARNING;
        case LogLevel::Error:
            return LOG_ERR;
    }
    return LOG_INFO;
}

std::string_view levelName(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warning:
            return "warning";
        case LogLevel::Error:
            return "error";
    }
    return "info";
}

}  // namespace

std::string_view syslogLevelName(LogLevel level) {
    return level == LogLevel::Error ? "err" : levelName(level);
}

std::optional<LogLevel> levelFromSyslogName(std::string_view name) {
    if (name == "emerg" || name == "alert" || name == "crit" || name == "err")
        return LogLevel::Error;
    if (name == "warning" || name == "notice") return LogLevel::Warning;
    if (name == "info") return LogLevel::Info;
    if (name == "debug") return LogLevel::Debug;
    return std::nullopt;
}

DaemonLogger::DaemonLogger(LogLevel threshold) : DaemonLogger(threshold, probeSink()) {}

DaemonLogger::Sink DaemonLogger::probeSink() {
    return probeSink("/run/systemd/journal/socket");
}

DaemonLogger::DaemonLogger(LogLevel threshold, Sink sink) : threshold_(threshold), sink_(sink) {}

DaemonLogger::Sink DaemonLogger::probeSink(const std::filesystem::path& journalSocket) {
    std::error_code ec;
    return std::filesystem::is_socket(journalSocket, ec) ? Sink::Journal : Sink::Stderr;
}

void DaemonLogger::log(LogLevel level, const LogContext& context, std::string_view message) {
    if (level < threshold_.load()) return;
    if (sink_.load() == Sink::Journal)
        toJournal(level, context, message);
    else
        toStderr(level, context, message);
}

void DaemonLogger::toJournal(LogLevel level, const LogContext& context, std::string_view message) {
    // The human message names the project too, so `journalctl -u etmemd` reads well
    // without the structured fields; absent fields are left out rather than sent empty.
    std::vector<std::string> fields;
    fields.push_back(context.project.empty()
                         ? fmt::format("MESSAGE={}", message)
                         : fmt::format("MESSAGE=project {}: {}", context.project, message));
    fields.push_back(fmt::format("PRIORITY={}", syslogPriority(level)));
    fields.push_back(fmt::format("SYSLOG_IDENTIFIER={}", kSyslogIdentifier));
    if (!context.project.empty()) fields.push_back("ETMEM_PROJECT=" + context.project);
    if (!context.task.empty()) fields.push_back("ETMEM_TASK=" + context.task);
    if (context.pid != 0) fields.push_back(fmt::format("ETMEM_PID={}", context.pid));
    std::vector<iovec> iov;
    for (auto& field : fields) iov.push_back({field.data(), field.size()});
    sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

void DaemonLogger::toStderr(LogLevel level, const LogContext& context, std::string_view message) {
    std::string line = fmt::format("etmemd[{}]: ", levelName(level));
    if (!context.project.empty()) line += fmt::format("project {}: ", context.project);
    if (!context.task.empty()) line += fmt::format("task {}: ", context.task);
    if (context.pid != 0) line += fmt::format("pid {}: ", context.pid);
    line += message;
    line += '\n';
    std::lock_guard lock(stderrMutex_);
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

}  // namespace etmem::service
