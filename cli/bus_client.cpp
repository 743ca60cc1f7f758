#include "bus_client.hpp"

#include "bus_errors.hpp"
#include "etmem/contract/bus_names.hpp"
#include "polkit_agent.hpp"

#include <systemd/sd-bus.h>
#include <unistd.h>
#include "render.hpp"

#include <etmem/dbus/manager_proxy.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>

namespace etmem::cli {
namespace {

using PropertyMap = std::map<std::string, sdbus::Variant>;
using TaskStruct =
    sdbus::Struct<std::string, std::string, std::uint32_t, std::string, std::uint32_t>;
// TaskStatistics' a(sautttttttttsssat): task, pids, cycles, the last cycle's pages scanned /
// hot / cold / swapped, bytes swapped, duration (us), total pages and bytes swapped, scanner,
// swapper, last error, histogram.
using TaskStatisticsStruct =
    sdbus::Struct<std::string, std::vector<std::uint32_t>, std::uint64_t, std::uint64_t,
                  std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                  std::uint64_t, std::uint64_t, std::string, std::string, std::string,
                  std::vector<std::uint64_t>>;

class ManagerProxy final : public sdbus::ProxyInterfaces<org::openeuler::Etmem::Manager_proxy> {
  public:
    ManagerProxy(sdbus::IConnection& connection, std::string busName)
        : ProxyInterfaces(connection, std::move(busName), std::string(bus::kManagerPath)) {
        registerProxy();
    }
    ~ManagerProxy() { unregisterProxy(); }
    ManagerProxy(const ManagerProxy&) = delete;
    ManagerProxy& operator=(const ManagerProxy&) = delete;
};

// Copies a property into out when present with the expected type; an older or newer daemon
// may lack a statistic, which then shows as 0 rather than failing the whole listing.
template <typename T>
void take(const PropertyMap& properties, const std::string& name, T& out) {
    auto found = properties.find(name);
    if (found != properties.end() && found->second.containsValueOfType<T>())
        out = found->second.get<T>();
}

TaskStatistics toTaskStatistics(const TaskStatisticsStruct& row) {
    TaskStatistics task;
    task.task = std::get<0>(row);
    Statistics& stats = task.stats;
    stats.pids = std::get<1>(row);
    stats.cycles = std::get<2>(row);
    stats.pagesScanned = std::get<3>(row);
    stats.pagesHot = std::get<4>(row);
    stats.pagesCold = std::get<5>(row);
    stats.pagesSwapped = std::get<6>(row);
    stats.bytesSwapped = std::get<7>(row);
    stats.lastCycleUSec = std::get<8>(row);
    stats.totalPagesSwapped = std::get<9>(row);
    stats.totalBytesSwapped = std::get<10>(row);
    stats.scanner = std::get<11>(row);
    stats.swapper = std::get<12>(row);
    stats.lastError = std::get<13>(row);
    stats.histogram = std::get<14>(row);
    return task;
}

ProjectInfo toProjectInfo(const ProjectEntry& entry, const PropertyMap& properties) {
    ProjectInfo info;
    info.name = entry.name;
    info.state = entry.state;
    take(properties, "Name", info.name);
    take(properties, "State", info.state);
    take(properties, "Loop", info.loop);
    take(properties, "Interval", info.interval);
    take(properties, "Sleep", info.sleep);
    std::vector<TaskStruct> tasks;
    take(properties, "Tasks", tasks);
    for (const auto& task : tasks) {
        info.tasks.push_back({std::get<0>(task), std::get<1>(task), std::get<2>(task),
                              std::get<3>(task), std::get<4>(task)});
    }
    Statistics& stats = info.stats;
    take(properties, "Pids", stats.pids);
    take(properties, "Cycles", stats.cycles);
    take(properties, "PagesScanned", stats.pagesScanned);
    take(properties, "PagesHot", stats.pagesHot);
    take(properties, "PagesCold", stats.pagesCold);
    take(properties, "PagesSwapped", stats.pagesSwapped);
    take(properties, "BytesSwapped", stats.bytesSwapped);
    take(properties, "LastCycleUSec", stats.lastCycleUSec);
    take(properties, "TotalPagesSwapped", stats.totalPagesSwapped);
    take(properties, "TotalBytesSwapped", stats.totalBytesSwapped);
    take(properties, "Scanner", stats.scanner);
    take(properties, "Swapper", stats.swapper);
    take(properties, "LastError", stats.lastError);
    take(properties, "Histogram", stats.histogram);
    std::string config;
    take(properties, "Config", config);
    info.gates = gatesOfConfig(config);
    std::vector<TaskStatisticsStruct> rows;
    take(properties, "TaskStatistics", rows);
    for (const auto& row : rows) info.taskStatistics.push_back(toTaskStatistics(row));
    std::vector<sdbus::Struct<std::string, std::string, std::string>> targets;
    take(properties, "TaskTargets", targets);
    for (const auto& row : targets)
        info.taskTargets.push_back({std::get<0>(row), std::get<1>(row), std::get<2>(row)});
    std::vector<sdbus::Struct<std::string, bool, bool, std::string, uint64_t, double>> pacing;
    take(properties, "TaskPacing", pacing);
    for (const auto& row : pacing)
        info.taskPacing.push_back({std::get<0>(row), std::get<1>(row), std::get<2>(row),
                                   std::get<3>(row), std::get<4>(row), std::get<5>(row)});
    return info;
}

bool projectIsGone(const sdbus::Error& error) {
    const std::string& name = error.getName();
    return name == "org.freedesktop.DBus.Error.UnknownObject" ||
           name == "org.freedesktop.DBus.Error.UnknownInterface" ||
           name == "org.freedesktop.DBus.Error.UnknownMethod";
}

// sdbus-c++ 1.2 has no setter for ALLOW_INTERACTIVE_AUTHORIZATION, only the protected
// sd_bus_message* inside sdbus::Message; a pointer to that member, formed through a derived
// class, reaches it without casting away anything.
struct RawMessageAccess : sdbus::Message {
    static sd_bus_message* raw(sdbus::Message& message) {
        constexpr auto member = &RawMessageAccess::msg_;
        return static_cast<sd_bus_message*>(message.*member);
    }
};

// etmemd waits up to 2 minutes for a person to answer polkit's prompt; a bit more here.
constexpr auto kInteractiveCallTimeout = std::chrono::seconds(150);

class BusClient final : public DaemonClient {
  public:
    BusClient(std::unique_ptr<sdbus::IConnection> connection, std::string instance)
        : connection_(std::move(connection)),
          instance_(std::move(instance)),
          busName_(bus::busNameForInstance(instance_)),
          manager_(*connection_, busName_) {}

    void allowPasswordPrompt(bool allowed) override { interactive_ = mayAskPassword(allowed); }

    void addProject(const std::string& name, const std::string& configText) override {
        change("AddProject", name, configText);
    }
    void removeProject(const std::string& name) override { change("RemoveProject", name); }
    void startProject(const std::string& name) override { change("StartProject", name); }
    void stopProject(const std::string& name) override { change("StopProject", name); }
    void addObjects(const std::string& configText) override { change("AddObjects", configText); }
    void removeObjects(const std::string& configText) override {
        change("RemoveObjects", configText);
    }

    std::vector<ProjectEntry> listProjects() override {
        std::vector<ProjectEntry> entries;
        call([&] {
            for (const auto& project : manager_.ListProjects())
                entries.push_back(
                    {std::get<0>(project), std::get<1>(project), std::get<2>(project)});
        });
        return entries;
    }

    // One GetAll per project instead of a Get per property: `project show` with many
    // projects stays at one round trip each.
    std::optional<ProjectInfo> projectDetails(const ProjectEntry& entry) override {
        PropertyMap properties;
        try {
            auto proxy = sdbus::createProxy(*connection_, busName_, entry.objectPath);
            proxy->callMethod("GetAll")
                .onInterface("org.freedesktop.DBus.Properties")
                .withArguments(std::string(bus::kProjectInterface))
                .storeResultsTo(properties);
        } catch (const sdbus::Error& error) {
            if (projectIsGone(error)) return std::nullopt;
            throw ClientError(describe(error));
        }
        return toProjectInfo(entry, properties);
    }

    // One round trip for every project: the ObjectManager at "/" answers with each
    // object's properties (1,000 projects: one call instead of 1,001).
    std::vector<ProjectInfo> allProjectDetails() override {
        std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>> objects;
        call([&] {
            auto root = sdbus::createProxy(*connection_, busName_, "/");
            root->callMethod("GetManagedObjects")
                .onInterface("org.freedesktop.DBus.ObjectManager")
                .storeResultsTo(objects);
        });
        std::vector<ProjectInfo> projects;
        for (const auto& [path, interfaces] : objects) {
            auto project = interfaces.find(std::string(bus::kProjectInterface));
            if (project == interfaces.end()) continue;
            projects.push_back(toProjectInfo({"", "", path}, project->second));
        }
        std::sort(projects.begin(), projects.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        return projects;
    }

  private:
    // A mutating call. On a terminal (and without --no-ask-password) it carries
    // ALLOW_INTERACTIVE_AUTHORIZATION, like systemctl's, and a text agent runs meanwhile so
    // polkit can ask for a password; root needs neither (etmemd allows root outright).
    template <typename... Args>
    void change(const char* method, const Args&... args) {
        call([&] {
            const bool interactive = interactive_ && ::geteuid() != 0;
            std::optional<PolkitAgent> agent;
            if (interactive) agent.emplace();
            auto proxy = sdbus::createProxy(*connection_, busName_, std::string(bus::kManagerPath));
            auto message = proxy->createMethodCall(std::string(bus::kManagerInterface), method);
            (message << ... << args);
            if (interactive) {
                sd_bus_message_set_allow_interactive_authorization(RawMessageAccess::raw(message),
                                                                   1);
                proxy->callMethod(message, kInteractiveCallTimeout);
            } else {
                proxy->callMethod(message);
            }
        });
    }

    template <typename Call>
    void call(Call&& invoke) {
        try {
            invoke();
        } catch (const sdbus::Error& error) {
            throw ClientError(describe(error));
        }
    }

    std::string describe(const sdbus::Error& error) const {
        return describeBusError(error.getName(), error.getMessage(), busName_, instance_);
    }

    std::unique_ptr<sdbus::IConnection> connection_;
    std::string instance_;
    std::string busName_;
    ManagerProxy manager_;
    bool interactive_ = false;
};

}  // namespace

std::unique_ptr<DaemonClient> connectToDaemon(const std::string& instance) {
    std::unique_ptr<sdbus::IConnection> connection;
    try {
        connection = sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& error) {
        throw ClientError(
            describeConnectFailure(error.getMessage(), bus::busNameForInstance(instance)));
    }
    return std::make_unique<BusClient>(std::move(connection), instance);
}

}  // namespace etmem::cli
