#include "bus_objects.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <utility>

#include "etmem/contract/bus_names.hpp"
#include "etmem/dbus/manager_adaptor.h"
#include "etmem/dbus/project_adaptor.h"

namespace etmem::service {
namespace {

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
template <typename... Results, typename Change>
void answerWhenAllowed(Authorizer& authorizer, const sdbus::IObject& object,
                       sdbus::Result<Results...>&& result, Change change) {
    auto reply = std::make_shared<sdbus::Result<Results...>>(std::move(result));
    authorizer.authorize(currentCaller(object), kManageAction,
                         [reply, change = std::move(change)](AuthDecision decision) mutable {
                             if (!decision.allowed) {
                                 sendReply([&] {
                                     reply->returnError(sdbus::Error(
                                         errorName(ErrorKind::AccessDenied), decision.message));
                                 });
                                 return;
                             }
                             try {
                                 translateErrors([&] { change(reply); });
                             } catch (const sdbus::Error& error) {
                                 sendReply([&] { reply->returnError(error); });
                             }
                         });
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

class ManagerObject final : public sdbus::AdaptorInterfaces<org::openeuler::Etmem::Manager_adaptor,
                                                            sdbus::Properties_adaptor> {
  public:
    ManagerObject(sdbus::IConnection& bus, ProjectRegistry& registry, Authorizer& authorizer,
                  DaemonLogger& logger, std::string instance, BackendInfo backends)
        : AdaptorInterfaces(bus, std::string(bus::kManagerPath)),
          registry_(registry),
          authorizer_(authorizer),
          logger_(logger),
          instance_(std::move(instance)),
          backends_(std::move(backends)) {
        registerAdaptor();
    }
    ~ManagerObject() { unregisterAdaptor(); }

    void projectsChanged() {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Manager_adaptor::INTERFACE_NAME,
                                    {"Projects"});
    }

  private:
    void AddProject(sdbus::Result<sdbus::ObjectPath>&& result, std::string name,
                    std::string config) override {
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [&registry = registry_, name = std::move(name), config = std::move(config),
             caller = callerNamespaces(getObject())](auto reply) {
                registry.add(name, config, caller);
                sendReply(
                    [&] { reply->returnResults(sdbus::ObjectPath(bus::projectObjectPath(name))); });
            });
    }
    // Answered when the project's workers have ended, so a client that stops and starts
    // again never has two runs of one project at once.
    void RemoveProject(sdbus::Result<>&& result, std::string name) override {
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = std::move(name)](auto reply) {
                              registry.remove(name, replyWhenHalted(reply));
                          });
    }
    void StartProject(sdbus::Result<>&& result, std::string name) override {
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, name = std::move(name)](auto reply) {
                              registry.start(name);
                              sendReply([&] { reply->returnResults(); });
                          });
    }
    void StopProject(sdbus::Result<>&& result, std::string name) override {
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
        answerWhenAllowed(
            authorizer_, getObject(), std::move(result),
            [&registry = registry_, config = std::move(config),
             caller = callerNamespaces(getObject())](auto reply) {
                const Project& project = registry.addObjects(config, caller);
                sendReply([&] {
                    reply->returnResults(sdbus::ObjectPath(bus::projectObjectPath(project.name)));
                });
            });
    }
    void RemoveObjects(sdbus::Result<>&& result, std::string config) override {
        answerWhenAllowed(authorizer_, getObject(), std::move(result),
                          [&registry = registry_, config = std::move(config)](auto reply) {
                              registry.removeObjects(config, replyWhenHalted(reply));
                          });
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
    uint32_t LogLevel() override { return static_cast<uint32_t>(logger_.threshold()); }
    // sdbus-c++ answers a property write when the setter returns, so it cannot wait for
    // polkit without stalling every client: the write is root's (uid from the bus, which
    // answers at once), and SetLogLevel is the polkit-authorized way for others.
    void LogLevel(const uint32_t& value) override {
        const Caller caller = currentCaller(getObject());
        if (authorizer_.uidOfNow(caller.sender) != 0)
            throw sdbus::Error(errorName(ErrorKind::AccessDenied),
                               fmt::format("writing LogLevel is for root; call SetLogLevel "
                                           "(polkit action {}) instead",
                                           kManageAction));
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
        if (changed)
            emitPropertiesChangedSignal(org::openeuler::Etmem::Manager_adaptor::INTERFACE_NAME,
                                        {"LogLevel"});
    }

    ProjectRegistry& registry_;
    Authorizer& authorizer_;
    DaemonLogger& logger_;
    std::string instance_;
    BackendInfo backends_;
};

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
                               task.engine, task.T);
        return tasks;
    }
    std::vector<uint32_t> Pids() override { return {stats().pids.begin(), stats().pids.end()}; }
    uint64_t Cycles() override { return stats().cycles; }
    uint64_t PagesScanned() override { return stats().pagesScanned; }
    uint64_t PagesHot() override { return stats().pagesHot; }
    uint64_t PagesCold() override { return stats().pagesCold; }
    uint64_t PagesSwapped() override { return stats().pagesSwapped; }
    uint64_t BytesSwapped() override { return stats().bytesSwapped; }
    uint64_t LastCycleUSec() override { return stats().lastCycleUSec; }
    uint64_t TotalPagesSwapped() override { return stats().totalPagesSwapped; }
    uint64_t TotalBytesSwapped() override { return stats().totalBytesSwapped; }
    std::string LastError() override { return stats().lastError; }
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
                              task.totalPagesSwapped, task.totalBytesSwapped, last.scanner,
                              last.swapper, last.error, last.histogram);
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
            if (config.maxSwapRate == 0 && config.pressureLimit == 0) continue;
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

BusObjects::BusObjects(sdbus::IConnection& bus, ProjectRegistry& registry, Authorizer& authorizer,
                       DaemonLogger& logger, std::string instance, BackendInfo backends)
    : bus_(bus),
      registry_(registry),
      authorizer_(authorizer),
      root_(std::make_unique<RootObjectManager>(bus)),
      manager_(std::make_unique<ManagerObject>(bus, registry, authorizer, logger,
                                               std::move(instance), std::move(backends))) {}

BusObjects::~BusObjects() {
    for (auto& [name, object] : projects_) object->leaveQuietly();
}

void BusObjects::projectAdded(const Project& project) {
    projects_[project.name] = std::make_unique<ProjectObject>(bus_, registry_, authorizer_,
                                                              project.name, batchDepth_ == 0);
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
    return {
        "Pids",         "Cycles",       "PagesScanned",  "PagesHot",          "PagesCold",
        "PagesSwapped", "BytesSwapped", "LastCycleUSec", "TotalPagesSwapped", "TotalBytesSwapped",
        "LastError",    "Histogram",    "Scanner",       "Swapper",           "TaskStatistics",
        "TaskTargets",  "Paced",        "TaskPacing"};
}

}  // namespace

// A start resets the statistics, a failure sets LastError: both announced with State.
void BusObjects::stateChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end()) {
        auto properties = statisticsProperties();
        properties.push_back("State");
        it->second->changed(properties);
    }
}

void BusObjects::statsChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end())
        it->second->changed(statisticsProperties());
}

}  // namespace etmem::service
