#include "bus_objects.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bus_names.hpp"
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

// Throws AccessDenied unless polkit (or being root) allows the caller to manage etmem.
void requireManage(Authorizer& authorizer, const sdbus::IObject& object) {
    AuthDecision decision = authorizeCurrentCall(authorizer, object);
    if (!decision.allowed) throw sdbus::Error(errorName(ErrorKind::AccessDenied), decision.message);
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
    sdbus::ObjectPath AddProject(const std::string& name, const std::string& config) override {
        requireManage(authorizer_, getObject());
        return translateErrors([&] {
            registry_.add(name, config);
            return sdbus::ObjectPath(bus::projectObjectPath(name));
        });
    }
    void RemoveProject(const std::string& name) override {
        requireManage(authorizer_, getObject());
        translateErrors([&] { registry_.remove(name); });
    }
    void StartProject(const std::string& name) override {
        requireManage(authorizer_, getObject());
        translateErrors([&] { registry_.start(name); });
    }
    void StopProject(const std::string& name) override {
        requireManage(authorizer_, getObject());
        translateErrors([&] { registry_.stop(name); });
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
    void LogLevel(const uint32_t& value) override {
        requireManage(authorizer_, getObject());
        if (value > 3)
            throw sdbus::Error(errorName(ErrorKind::InvalidArgument),
                               fmt::format("log level {} is out of range; allowed 0 (debug), 1 "
                                           "(info), 2 (warning), 3 (error)",
                                           value));
        logger_.setThreshold(static_cast<etmem::LogLevel>(value));
        logger_.log(etmem::LogLevel::Info, fmt::format("log level set to {}", value));
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
    ProjectObject(sdbus::IConnection& bus, ProjectRegistry& registry, Authorizer& authorizer,
                  const std::string& name)
        : AdaptorInterfaces(bus, bus::projectObjectPath(name)),
          registry_(registry),
          authorizer_(authorizer),
          name_(name) {
        registerAdaptor();
        emitInterfacesAddedSignal({org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME});
    }
    ~ProjectObject() {
        emitInterfacesRemovedSignal({org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME});
        unregisterAdaptor();
    }

    void changed(const std::vector<std::string>& properties) {
        emitPropertiesChangedSignal(org::openeuler::Etmem::Project_adaptor::INTERFACE_NAME,
                                    properties);
    }

  private:
    const Project& project() const { return registry_.get(name_); }
    const ProjectStats& stats() const { return project().stats; }

    void Start() override {
        requireManage(authorizer_, getObject());
        translateErrors([&] { registry_.start(name_); });
    }
    void Stop() override {
        requireManage(authorizer_, getObject());
        translateErrors([&] { registry_.stop(name_); });
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
};

BusObjects::BusObjects(sdbus::IConnection& bus, ProjectRegistry& registry, Authorizer& authorizer,
                       DaemonLogger& logger, std::string instance, BackendInfo backends)
    : bus_(bus),
      registry_(registry),
      authorizer_(authorizer),
      root_(std::make_unique<RootObjectManager>(bus)),
      manager_(std::make_unique<ManagerObject>(bus, registry, authorizer, logger,
                                               std::move(instance), std::move(backends))) {}

BusObjects::~BusObjects() = default;

void BusObjects::projectAdded(const Project& project) {
    projects_[project.name] =
        std::make_unique<ProjectObject>(bus_, registry_, authorizer_, project.name);
    manager_->projectsChanged();
}

void BusObjects::projectRemoved(const std::string& name) {
    projects_.erase(name);
    manager_->projectsChanged();
}

void BusObjects::stateChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end())
        it->second->changed({"State", "LastError"});
}

void BusObjects::statsChanged(const Project& project) {
    if (auto it = projects_.find(project.name); it != projects_.end())
        it->second->changed({"Pids", "Cycles", "PagesScanned", "PagesHot", "PagesCold",
                             "PagesSwapped", "BytesSwapped", "LastCycleUSec", "TotalPagesSwapped",
                             "TotalBytesSwapped", "LastError", "TaskTargets", "Paced",
                             "TaskPacing"});
}

}  // namespace etmem::service
