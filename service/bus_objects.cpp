// SPDX-License-Identifier: MulanPSL-2.0
#include "bus_objects.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <utility>

#include "etmem/contract/bus_names.hpp"
#include "etmem/contract/limits.hpp"
#include "etmem/dbus/logcontrol1_adaptor.h"
#include "etmem/dbus/manager_adaptor.h"
#include "etmem/dbus/project_adaptor.h"
#include "etmem/settings.hpp"

namespace etmem::service {
namespace {

constexpr std::string_view kLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded";

// Runs a registry call, answering a ServiceError with its named D-Bus error.
template <typename Call>
auto translateErrors(Call&& call) {
    try {
        return call();
    } catch (const ServiceError& e) {
        throw sdbus::Error(errorName(e.kind()), e.what());
    } catch (const sdbus::Error&) {
        throw;
    } catch (const std::exception& e) {
        // sdbus-c++ only turns sdbus::Error into a reply; anything else would end the
        // daemon, and no client input may do that.
        throw sdbus::Error(errorName(ErrorKind::Failed), e.what());
    }
}

// Sends a reply and swallows what sending may throw: this runs inside sdbus-c++'s reply
// callbacks, which must not throw into sd-bus. A caller that went away loses its answer.
template <typename Send>
void sendReply(Send&& send) noexcept {
    try {
        send();
    } catch (...) {
    }
}

// Authorizes the call being processed, then runs `change(reply)`, which answers through
// `reply` (at once or later). The change runs only after polkit has answered, against the
// registry as it is then: it looks everything up again (a project may be gone by now).
// A ServiceError or sdbus::Error it throws becomes the error reply.
// heldBytes: what the call's arguments hold meanwhile.
template <typename... Results, typename Change>
void answerWhenAllowed(Authorizer& authorizer, const sdbus::IObject& object,
                       sdbus::Result<Results...>&& result, Change change, std::size_t heldBytes = 0,
                       std::string_view action = kManageAction) {
    auto reply = std::make_shared<sdbus::Result<Results...>>(std::move(result));
    authorizer.authorize(
        currentCaller(object), action, heldBytes,
        [reply, change = std::move(change)](AuthDecision decision) mutable {
            if (!decision.allowed) {
                const std::string name = decision.overLimit ? std::string(kLimitsExceeded)
                                                            : errorName(ErrorKind::AccessDenied);
                sendReply([&] { reply->returnError(sdbus::Error(name, decision.message)); });
                return;
            }
            try {
                translateErrors([&] { change(reply); });
            } catch (const sdbus::Error& error) {
                sendReply([&] { reply->returnError(error); });
            }
        });
}

// What is cheap to check is checked before polkit is asked, so a refused call holds
// nothing while polkit decides: the name's rules and the config's size.
void checkName(const std::string& name) {
    if (auto problem = bus::checkProjectName(name); !problem.empty())
        throw sdbus::Error(errorName(ErrorKind::InvalidArgument), problem);
}

// No project has a longer name: nothing to wait for polkit about.
void checkNameLength(const std::string& name) {
    if (name.size() > bus::kMaxProjectNameLength)
        throw sdbus::Error(errorName(ErrorKind::NoSuchProject),
                           fmt::format("there is no project with a name of {} bytes; names are "
                                       "at most {} bytes",
                                       name.size(), bus::kMaxProjectNameLength));
}

void checkConfigSize(const std::string& config) {
    if (config.size() > kMaxConfigBytes)
        throw sdbus::Error(errorName(ErrorKind::InvalidConfig),
                           fmt::format("the config is {} bytes; at most {} bytes (1 MiB) are "
                                       "allowed",
                                       config.size(), kMaxConfigBytes));
}

// What the calling process's pids and cgroup paths mean to etmemd: the bus says which
// process called (it recorded the pid when the caller connected).
NamespaceView callerNamespaces(const sdbus::IObject& object) {
    try {
        const sdbus::Message* message = object.getCurrentlyProcessedMessage();
        if (message != nullptr) return namespacesOf(message->getCredsPid());
    } catch (const sdbus::Error&) {
    }
    return NamespaceView{false, false, "the bus did not say which process called"};
}

using FileFailureRow = sdbus::Struct<std::string, uint32_t, std::string, std::string>;

std::vector<FileFailureRow> rowsOf(const std::vector<FileFailure>& failures) {
    std::vector<FileFailureRow> rows;
    for (const auto& failure : failures)
        rows.emplace_back(failure.path.string(), static_cast<uint32_t>(std::max(failure.line, 0)),
                          failure.key, failure.message);
    return rows;
}

std::function<void()> replyWhenHalted(std::shared_ptr<sdbus::Result<>> reply) {
    return [reply] { sendReply([&] { reply->returnResults(); }); };
}

}  // namespace

class RootObjectManager final : public sdbus::AdaptorInterfaces<sdbus::ObjectManager_adaptor> {
  public:
    explicit RootObjectManager(sdbus::IConnection& bus) : AdaptorInterfaces(bus, "/") {
        registerAdaptor();
    }
    ~RootObjectManager() { unregisterAdaptor(); }
};

namespace {

// Writing a logging property is root's: sdbus-c++ answers a property write when the setter
// returns, so it cannot wait for polkit without stalling every client. The uid comes from
// the bus, which answers at once.
void requireRoot(Authorizer& authorizer, const sdbus::IObject& object, std::string_view what) {
    const Caller caller = currentCaller(object);
    if (authorizer.uidOfNow(caller.sender) != 0)
        throw sdbus::Error(errorName(ErrorKind::AccessDenied),
                           fmt::format("writing {} is for root; call SetLogLevel "
                                       "(polkit action {}) instead",
                                       what, kManageAction));
}

// Called after the log threshold changed through any of its three doors, so both objects
// that show it announce it.
using LevelChanged = std::function<void()>;

}  // namespace

class ManagerObject final : public sdbus::AdaptorInterfaces<org::openeuler::Etmem::Manager_adaptor,
                                                            sdbus::Properties_adaptor> {
  public:
    ManagerObject(sdbus::IConnection& bus, ProjectRegistry& registry, ProjectFiles& files,
                  Authorizer& authorizer, DaemonLogger& logger, std::string instance,
                  BackendInfo backends, LevelChanged levelChanged)
        : AdaptorInterfaces(bus, std::string(bus::kManagerPath)),
          registry_(registry),
          files_(files),
          authorizer_(authorizer),
          logger_(logger),
          instance_(std::move(instance)),
          backends_(std::move(backends)),
          levelChanged_(std::move(levelChanged)) {
        registerAdaptor();
    }
    ~ManagerObject() { unregisterAdaptor(); }

    void projectsChanged() {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Manager_adaptor::INTERFACE_NAME,
                                    {"Projects"});
    }
    void logLevelChanged() {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Manager_adaptor::INTERFACE_NAME,
                                    {"LogLevel"});
    }
    void reloadErrorsChanged() {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Manager_adaptor::INTERFACE_NAME,
                                    {"ReloadErrors"});
    }

  private:
    void Reload(
        sdbus::Result<std::vector<std::string>, std::vector<std::string>, std::vector<std::string>,
                      std::vector<std::string>, std::vector<FileFailureRow>>&& result) override {
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [this](auto reply) {
                const ReloadReport report = files_.reload();
                reloadErrorsChanged();
                sendReply([&] {
                    reply->returnResults(report.added, report.changed, report.removed,
                                         report.unchanged, rowsOf(report.failed));
                });
            },
            0, kReloadAction);
    }
    void AddProject(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                    std::string config) override {
        checkName(name);
        checkConfigSize(config);
        const std::size_t held = name.size() + config.size();
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [&registry = registry_, name = std::move(name), config = std::move(config),
             caller = callerNamespaces(getObject())](auto reply) {
                registry.add(name, config, caller);
                sendReply(
                    [&] { reply->returnResults(sdbus::ObjectPath(bus::projectObjectPath(name))); });
            },
            held);
    }
    // Answered when the project's workers have ended, so a client that stops and starts
    // again never has two runs of one project at once.
    void RemoveProject(sdbus::Result<>&& result, std::string name) override {
        checkNameLength(name);
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = std::move(name)](auto reply) {
                              registry.remove(name, replyWhenHalted(reply));
                          });
    }
    void StartProject(sdbus::Result<>&& result, std::string name) override {
        checkNameLength(name);
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = std::move(name)](auto reply) {
                              registry.start(name);
                              sendReply([&] { reply->returnResults(); });
                          });
    }
    void StopProject(sdbus::Result<>&& result, std::string name) override {
        checkNameLength(name);
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = std::move(name)](auto reply) {
                              registry.stop(name, replyWhenHalted(reply));
                          });
    }
    void SetLogLevel(sdbus::Result<>&& result, uint32_t level) override {
        checkLogLevel(level);
        answerWhenAllowed(authorizer_, getObject(), std::move(result), [this, level](auto reply) {
            applyLogLevel(level);
            sendReply([&] { reply->returnResults(); });
        });
    }
    void AddObjects(sdbus::Result<sdbus::ObjectPath>&& result, std::string config) override {
        checkConfigSize(config);
        const std::size_t held = config.size();
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [&registry = registry_, config = std::move(config),
             caller = callerNamespaces(getObject())](auto reply) {
                const Project& project = registry.addObjects(config, caller);
                sendReply([&] {
                    reply->returnResults(sdbus::ObjectPath(bus::projectObjectPath(project.name)));
                });
            },
            held);
    }
    void RemoveObjects(sdbus::Result<>&& result, std::string config) override {
        checkConfigSize(config);
        const std::size_t held = config.size();
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [&registry = registry_, config = std::move(config)](auto reply) {
                registry.removeObjects(config, replyWhenHalted(reply));
            },
            held);
    }
    std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> ListProjects()
        override {
        std::vector<sdbus::Struct<std::string, std::string, sdbus::ObjectPath>> list;
        for (const Project* project : registry_.list())
            list.emplace_back(project->name, std::string(toString(project->state)),
                              sdbus::ObjectPath(bus::projectObjectPath(project->name)));
        return list;
    }

    std::string Version() override { return ETMEM_VERSION; }
    std::string Instance() override { return instance_; }
    std::vector<sdbus::ObjectPath> Projects() override {
        std::vector<sdbus::ObjectPath> paths;
        for (const Project* project : registry_.list())
            paths.emplace_back(bus::projectObjectPath(project->name));
        return paths;
    }
    std::string Scanner() override { return backends_.scanner; }
    std::string Swapper() override { return backends_.swapper; }
    std::vector<std::string> Missing() override { return backends_.missing; }
    std::string ProjectFilesDirectory() override { return files_.directory().string(); }
    std::vector<FileFailureRow> ReloadErrors() override { return rowsOf(files_.failures()); }
    uint32_t LogLevel() override { return static_cast<uint32_t>(logger_.threshold()); }
    void LogLevel(const uint32_t& value) override {
        requireRoot(authorizer_, getObject(), "LogLevel");
        checkLogLevel(value);
        applyLogLevel(value);
    }
    static void checkLogLevel(uint32_t value) {
        if (value > 3)
            throw sdbus::Error(errorName(ErrorKind::InvalidArgument),
                               fmt::format("log level {} is out of range; allowed 0 (debug), 1 "
                                           "(info), 2 (warning), 3 (error)",
                                           value));
    }
    void applyLogLevel(uint32_t value) {
        const bool changed = value != static_cast<uint32_t>(logger_.threshold());
        logger_.setThreshold(static_cast<etmem::LogLevel>(value));
        logger_.log(etmem::LogLevel::Info, fmt::format("log level set to {}", value));
        if (changed) levelChanged_();
    }

    ProjectRegistry& registry_;
    ProjectFiles& files_;
    Authorizer& authorizer_;
    DaemonLogger& logger_;
    std::string instance_;
    BackendInfo backends_;
    LevelChanged levelChanged_;
};

// systemd's org.freedesktop.LogControl1, so `systemctl service-log-level etmemd debug` and
// `systemctl service-log-target` work as they do for systemd's daemons.
class LogControlObject final
    : public sdbus::AdaptorInterfaces<org::freedesktop::LogControl1_adaptor,
                                      sdbus::Properties_adaptor> {
  public:
    LogControlObject(sdbus::IConnection& bus, Authorizer& authorizer, DaemonLogger& logger,
                     LevelChanged levelChanged)
        : AdaptorInterfaces(bus, std::string(kLogControlPath)),
          authorizer_(authorizer),
          logger_(logger),
          levelChanged_(std::move(levelChanged)) {
        registerAdaptor();
    }
    ~LogControlObject() { unregisterAdaptor(); }

    static constexpr std::string_view kLogControlPath = "/org/freedesktop/LogControl1";

    void logLevelChanged() {
        emitPropertiesChangedSignal(org::freedesktop::LogControl1_adaptor::INTERFACE_NAME,
                                    {"LogLevel"});
    }

  private:
    std::string LogLevel() override { return std::string(syslogLevelName(logger_.threshold())); }
    void LogLevel(const std::string& value) override {
        requireRoot(authorizer_, getObject(), "LogLevel");
        const auto level = levelFromSyslogName(value);
        if (!level)
            throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                               fmt::format("invalid log level '{}'; allowed emerg, alert, crit, "
                                           "err, warning, notice, info, debug",
                                           value));
        const bool changed = *level != logger_.threshold();
        logger_.setThreshold(*level);
        logger_.log(etmem::LogLevel::Info,
                    fmt::format("log level set to {}", syslogLevelName(*level)));
        if (changed) levelChanged_();
    }
    std::string LogTarget() override {
        return logger_.sink() == DaemonLogger::Sink::Journal ? "journal" : "console";
    }
    void LogTarget(const std::string& value) override {
        requireRoot(authorizer_, getObject(), "LogTarget");
        DaemonLogger::Sink sink;
        if (value == "journal")
            sink = DaemonLogger::Sink::Journal;
        else if (value == "console")
            sink = DaemonLogger::Sink::Stderr;
        else if (value == "auto" || value.empty())
            sink = DaemonLogger::probeSink();
        else
            throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                               fmt::format("log target '{}' is not supported; allowed journal, "
                                           "console, auto",
                                           value));
        if (sink == logger_.sink()) return;
        logger_.setSink(sink);
        emitPropertiesChangedSignal(org::freedesktop::LogControl1_adaptor::INTERFACE_NAME,
                                    {"LogTarget"});
    }
    std::string SyslogIdentifier() override { return std::string(kSyslogIdentifier); }

    Authorizer& authorizer_;
    DaemonLogger& logger_;
    LevelChanged levelChanged_;
};

namespace {

using Dictionary = std::map<std::string, sdbus::Variant>;

void addFigures(Dictionary& dictionary, const FigureList& figures) {
    for (const Figure& figure : figures)
        dictionary.insert_or_assign(
            figure.name,
            std::visit([](const auto& value) { return sdbus::Variant(value); }, figure.value));
}

// The keys a project's Report and each of its TaskReports share besides the figures.
struct ReportCommon {
    uint64_t cycles;
    const std::vector<pid_t>& pids;
    uint64_t lastCycleUSec;
    const std::string& scanner;
    const std::string& swapper;
    const std::string& lastError;
    const std::vector<uint64_t>& histogram;
};

Dictionary reportOf(const ReportCommon& common) {
    Dictionary report;
    report.emplace("cycles", common.cycles);
    report.emplace("pids", std::vector<uint32_t>(common.pids.begin(), common.pids.end()));
    report.emplace("last_cycle_usec", common.lastCycleUSec);
    report.emplace("scanner", common.scanner);
    report.emplace("swapper", common.swapper);
    report.emplace("last_error", common.lastError);
    report.emplace("histogram", common.histogram);
    return report;
}

// Settings valued as the config writes them, in the config's order.
std::vector<sdbus::Struct<std::string, std::string>> pairsOf(const FigureList& figures) {
    std::vector<sdbus::Struct<std::string, std::string>> pairs;
    for (const Figure& figure : figures) {
        if (const auto* text = std::get_if<std::string>(&figure.value))
            pairs.emplace_back(figure.name, *text);
    }
    return pairs;
}

}  // namespace

using TaskStatisticsRow =
    sdbus::Struct<std::string, std::vector<uint32_t>, uint64_t, uint64_t, uint64_t, uint64_t,
                  uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, std::string, std::string,
                  std::string, std::vector<uint64_t>>;

class ProjectObject final
    : public sdbus::AdaptorInterfaces<org::openeuler::Etmem::Project_adaptor,
                                      sdbus::Properties_adaptor, sdbus::ManagedObject_adaptor> {
  public:
    // announce: false for the objects restored at start, before the loop serves anyone; a
    // client learns of those from GetManagedObjects once it sees the name owned.
    ProjectObject(sdbus::IConnection& bus, ProjectRegistry& registry, Authorizer& authorizer,
                  const std::string& name, bool announce)
        : AdaptorInterfaces(bus, bus::projectObjectPath(name)),
          registry_(registry),
          authorizer_(authorizer),
          name_(name) {
        registerAdaptor();
        if (announce)
            emitInterfacesAddedSignal({org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME});
    }
    ~ProjectObject() {
        try {
            if (announceRemoval_)
                emitInterfacesRemovedSignal(
                    {org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME});
        } catch (const sdbus::Error&) {
            // The bus is gone (etmemd is exiting): nobody is left to tell. A destructor that
            // threw would end etmemd with std::terminate instead of its exit status.
        }
        unregisterAdaptor();
    }
    // At exit every object goes with the bus name: n InterfacesRemoved would only delay it.
    void leaveQuietly() { announceRemoval_ = false; }

    void changed(const std::vector<std::string>& properties) {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME,
                                    properties);
    }

  private:
    const Project& project() const { return registry_.get(name_); }
    const ProjectStats& stats() const { return project().stats; }

    // The continuations hold the registry and the name, not this object: the project may
    // be removed (and this object destroyed) while polkit decides.
    void Start(sdbus::Result<>&& result) override {
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = name_](auto reply) {
                              registry.start(name);
                              sendReply([&] { reply->returnResults(); });
                          });
    }
    void Stop(sdbus::Result<>&& result) override {
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = name_](auto reply) {
                              registry.stop(name, replyWhenHalted(reply));
                          });
    }
    std::string Name() override { return name_; }
    std::string State() override { return std::string(toString(project().state)); }
    std::string Config() override { return project().normalizedConfig; }
    uint32_t Loop() override { return project().config.loop; }
    uint32_t Interval() override { return project().config.interval; }
    uint32_t Sleep() override { return project().config.sleep; }
    std::vector<sdbus::Struct<std::string, std::string, uint32_t, std::string, uint32_t>> Tasks()
        override {
        std::vector<sdbus::Struct<std::string, std::string, uint32_t, std::string, uint32_t>> tasks;
        for (const auto& task : project().config.tasks)
            tasks.emplace_back(std::string(toString(task.type)), task.value, task.maxThreads,
                               task.engine, task.slide.T);
        return tasks;
    }
    std::vector<uint32_t> Pids() override { return {stats().pids.begin(), stats().pids.end()}; }
    uint64_t Cycles() override { return stats().cycles; }
    uint64_t PagesScanned() override { return stats().lastCycle.count(figure::kPagesScanned); }
    uint64_t PagesHot() override { return stats().lastCycle.count(figure::kPagesHot); }
    uint64_t PagesCold() override { return stats().lastCycle.count(figure::kPagesCold); }
    uint64_t PagesSwapped() override { return stats().lastCycle.count(figure::kPagesSwapped); }
    uint64_t BytesSwapped() override { return stats().lastCycle.count(figure::kBytesSwapped); }
    uint64_t LastCycleUSec() override { return stats().lastCycleUSec; }
    uint64_t TotalPagesSwapped() override {
        return stats().totals.count(figure::kTotalPagesSwapped);
    }
    uint64_t TotalBytesSwapped() override {
        return stats().totals.count(figure::kTotalBytesSwapped);
    }
    std::string LastError() override {
        const Project& current = project();
        if (current.fileError.empty()) return current.stats.lastError;
        const std::string refused = fmt::format(
            "the newest text of the file is refused, the project runs on the one "
            "before: {}",
            current.fileError);
        return current.stats.lastError.empty()
                   ? refused
                   : fmt::format("{}; {}", refused, current.stats.lastError);
    }
    std::string Source() override {
        const Project& current = project();
        return current.sourceFile.empty() ? "api" : "file:" + current.sourceFile.string();
    }
    std::vector<uint64_t> Histogram() override { return stats().histogram; }
    std::string Scanner() override { return stats().scanner; }
    std::string Swapper() override { return stats().swapper; }
    std::vector<TaskStatisticsRow> TaskStatistics() override {
        const Project& current = project();
        std::vector<TaskStatisticsRow> rows;
        for (const TaskStatus& task : current.tasks) {
            const CycleReport& last = task.lastCycle;
            rows.emplace_back(describeTask(current.config.tasks.at(task.taskIndex)),
                              std::vector<uint32_t>(task.pids.begin(), task.pids.end()),
                              task.cycles, last.pagesScanned, last.pagesHot, last.pagesCold,
                              last.pagesSwapped, last.bytesSwapped,
                              static_cast<uint64_t>(task.lastCycleDuration.count()),
                              task.totals.count(figure::kTotalPagesSwapped),
                              task.totals.count(figure::kTotalBytesSwapped), last.scanner,
                              last.swapper, last.error, last.histogram);
        }
        return rows;
    }
    Dictionary Report() override {
        const ProjectStats& summed = stats();
        Dictionary report =
            reportOf(ReportCommon{summed.cycles, summed.pids, summed.lastCycleUSec, summed.scanner,
                                  summed.swapper, summed.lastError, summed.histogram});
        addFigures(report, summed.lastCycle);
        addFigures(report, summed.totals);
        return report;
    }
    std::vector<Dictionary> TaskReports() override {
        const Project& current = project();
        std::vector<Dictionary> reports;
        for (const TaskStatus& task : current.tasks) {
            const CycleReport& last = task.lastCycle;
            Dictionary& report = reports.emplace_back(reportOf(ReportCommon{
                task.cycles, task.pids, static_cast<uint64_t>(task.lastCycleDuration.count()),
                last.scanner, last.swapper, last.error, last.histogram}));
            report.emplace("task", describeTask(current.config.tasks.at(task.taskIndex)));
            report.emplace("cgroup", task.cgroup);
            report.emplace("target_note", task.targetNote);
            addFigures(report, last.figures());
            addFigures(report, task.totals);
        }
        return reports;
    }
    std::vector<sdbus::Struct<std::string, std::string>> Gates() override {
        return pairsOf(projectGates(project().config));
    }
    std::vector<sdbus::Struct<std::string, std::vector<sdbus::Struct<std::string, std::string>>>>
    TaskGates() override {
        std::vector<
            sdbus::Struct<std::string, std::vector<sdbus::Struct<std::string, std::string>>>>
            rows;
        for (const auto& task : project().config.tasks)
            rows.emplace_back(describeTask(task), pairsOf(taskGates(task)));
        return rows;
    }
    std::vector<Dictionary> TaskSettings() override {
        const ProjectConfig& config = project().config;
        std::vector<Dictionary> rows;
        for (const auto& task : config.tasks) {
            Dictionary& settings = rows.emplace_back();
            settings.emplace("task", describeTask(task));
            addFigures(settings, taskSettings(config, task));
        }
        return rows;
    }
    std::vector<sdbus::Struct<std::string, std::string, std::string>> TaskTargets() override {
        const Project& current = project();
        std::vector<sdbus::Struct<std::string, std::string, std::string>> rows;
        for (const TaskStatus& task : current.tasks)
            rows.emplace_back(describeTask(current.config.tasks.at(task.taskIndex)), task.cgroup,
                              task.targetNote);
        return rows;
    }
    bool Paced() override {
        const auto& tasks = project().tasks;
        return std::any_of(tasks.begin(), tasks.end(),
                           [](const TaskStatus& task) { return task.lastCycle.pacing.paced; });
    }
    std::vector<sdbus::Struct<std::string, bool, bool, std::string, uint64_t, double>> TaskPacing()
        override {
        const Project& current = project();
        std::vector<sdbus::Struct<std::string, bool, bool, std::string, uint64_t, double>> rows;
        for (const TaskStatus& task : current.tasks) {
            const TaskConfig& config = current.config.tasks.at(task.taskIndex);
            if (config.slide.maxSwapRate == 0 && config.slide.pressureLimit == 0) continue;
            const auto& pacing = task.lastCycle.pacing;
            rows.emplace_back(describeTask(config), pacing.paced, pacing.paused, pacing.reason,
                              pacing.rate, pacing.pressure);
        }
        return rows;
    }

    ProjectRegistry& registry_;
    Authorizer& authorizer_;
    std::string name_;
    bool announceRemoval_ = true;
};

namespace {

// Every string or array in a reply also takes a length word, alignment padding and, as a
// property, its name and variant signature: at most this many bytes more.
constexpr std::size_t kPerValue = 64;
// A project's fixed-size properties and the names of all of them.
constexpr std::size_t kProjectFixedBytes = 4096;
// The named values of one dictionary (Report, a task's report, settings or gates) besides
// its texts, lists and the task's description: at most 32 keys of kPerValue each.
constexpr std::size_t kNamedValuesBytes = 32 * kPerValue;

std::size_t describedBytes(const TaskConfig& config) {
    return kPerValue + config.value.size();
}

// A task's share of TaskStatistics, TaskTargets and TaskPacing (describeTask() names the task
// in each), and of TaskReports, which carries the same values by name.
std::size_t taskBytesBound(const Project& project, const TaskStatus& task) {
    const std::size_t described = describedBytes(project.config.tasks.at(task.taskIndex));
    const CycleReport& last = task.lastCycle;
    const std::size_t variable = 4 * task.pids.size() + 8 * last.histogram.size() +
                                 last.scanner.size() + last.swapper.size() + last.error.size() +
                                 last.pacing.reason.size() + task.cgroup.size() +
                                 task.targetNote.size();
    return 3 * described + variable + 12 * kPerValue + (described + variable + kNamedValuesBytes);
}

// At most what a project's properties take in a reply: its GetAll, or its entry in
// GetManagedObjects.
std::size_t propertyBytesBound(const Project& project) {
    const ProjectStats& stats = project.stats;
    std::size_t bytes = kProjectFixedBytes + 2 * project.name.size() +
                        project.normalizedConfig.size() +
                        2 * (stats.lastError.size() + stats.scanner.size() + stats.swapper.size() +
                             4 * stats.pids.size() + 8 * stats.histogram.size()) +
                        2 * kNamedValuesBytes;  // Report and Gates
    // Tasks, and each task's TaskGates and TaskSettings row.
    for (const TaskConfig& task : project.config.tasks)
        bytes += task.value.size() + task.engine.size() + 4 * kPerValue +
                 2 * (describedBytes(task) + kNamedValuesBytes);
    for (const TaskStatus& task : project.tasks) bytes += taskBytesBound(project, task);
    return bytes;
}

// The properties whose size grows with what a project or the registry holds.
bool isLargeProperty(std::string_view name) {
    for (std::string_view large :
         {"Config", "Tasks", "Pids", "Histogram", "TaskStatistics", "TaskTargets", "TaskPacing",
          "LastError", "Projects", "Report", "ReloadErrors", "Source", "TaskReports", "Gates",
          "TaskGates", "TaskSettings"})
        if (name == large) return true;
    return false;
}

}  // namespace

std::optional<std::size_t> BusObjects::replyBytesBound(const ReadCall& call) const {
    constexpr std::string_view kProperties = "org.freedesktop.DBus.Properties";
    if (call.interface == "org.freedesktop.DBus.ObjectManager" &&
        call.member == "GetManagedObjects") {
        std::size_t bytes = kProjectFixedBytes;
        for (const Project* project : registry_.list())
            bytes += propertyBytesBound(*project) + 2 * kPerValue + project->name.size() * 3;
        return bytes;
    }
    const bool listsProjects = call.path == bus::kManagerPath &&
                               (call.member == "ListProjects" ||
                                (call.interface == kProperties &&
                                 (call.member == "GetAll" || isLargeProperty(call.property))));
    const bool listsNodes = call.member == "Introspect";
    if (listsProjects || listsNodes) {
        std::size_t bytes = kProjectFixedBytes;
        for (const Project* project : registry_.list())
            bytes += 3 * project->name.size() + 3 * kPerValue;
        for (const FileFailure& failure : files_.failures())
            bytes += failure.path.native().size() + failure.key.size() + failure.message.size() +
                     4 * kPerValue;
        return bytes;
    }
    if (call.interface != kProperties || (call.member == "Get" && !isLargeProperty(call.property)))
        return std::nullopt;
    for (const auto& [name, object] : projects_)
        if (object->getObjectPath() == call.path) return propertyBytesBound(registry_.get(name));
    return std::nullopt;
}

BusObjects::BusObjects(sdbus::IConnection& bus, ProjectRegistry& registry, ProjectFiles& files,
                       Authorizer& authorizer, DaemonLogger& logger, std::string instance,
                       BackendInfo backends)
    : bus_(bus),
      registry_(registry),
      files_(files),
      authorizer_(authorizer),
      root_(std::make_unique<RootObjectManager>(bus)),
      manager_(std::make_unique<ManagerObject>(bus, registry, files, authorizer, logger,
                                               std::move(instance), std::move(backends),
                                               [this] { logLevelChanged(); })),
      logControl_(std::make_unique<LogControlObject>(bus, authorizer, logger,
                                                     [this] { logLevelChanged(); })) {}

void BusObjects::reloadErrorsChanged() {
    manager_->reloadErrorsChanged();
}

void BusObjects::logLevelChanged() {
    manager_->logLevelChanged();
    logControl_->logLevelChanged();
}

BusObjects::~BusObjects() {
    for (auto& [name, object] : projects_) object->leaveQuietly();
}

void BusObjects::projectAdded(const Project& project) {
    projects_[project.name] = std::make_unique<ProjectObject>(
        bus_, registry_, authorizer_, project.name, serving_ || batchDepth_ == 0);
    projectsChanged();
}

void BusObjects::projectRemoved(const std::string& name) {
    projects_.erase(name);
    projectsChanged();
}

// Projects carries every path: sent per change in a batch, n changes would cost n^2.
void BusObjects::projectsChanged() {
    if (batchDepth_ > 0)
        projectsChangedInBatch_ = true;
    else
        manager_->projectsChanged();
}

void BusObjects::beginBatch() {
    ++batchDepth_;
}

void BusObjects::endBatch() {
    if (--batchDepth_ == 0 && std::exchange(projectsChangedInBatch_, false))
        manager_->projectsChanged();
}

namespace {

// Every property a cycle's report changes (the rest are const in the XML, or State).
std::vector<std::string> statisticsProperties() {
    return {"Pids",
            "Cycles",
            "PagesScanned",
            "PagesHot",
            "PagesCold",
            "PagesSwapped",
            "BytesSwapped",
            "LastCycleUSec",
            "TotalPagesSwapped",
            "TotalBytesSwapped",
            "LastError",
            "Histogram",
            "Scanner",
            "Swapper",
            "TaskStatistics",
            "TaskTargets",
            "Paced",
            "TaskPacing",
            "Report",
            "TaskReports"};
}

}  // namespace

// A start resets the statistics, a failure sets LastError: both announced with State.
void BusObjects::stateChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end()) {
        auto properties = statisticsProperties();
        properties.insert(properties.end(),
                          {"State", "Gates", "TaskGates", "TaskSettings", "Source"});
        it->second->changed(properties);
    }
}

void BusObjects::statsChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end())
        it->second->changed(statisticsProperties());
}

}  // namespace etmem::service
