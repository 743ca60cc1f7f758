// SPDX-License-Identifier: MulanPSL-2.0
#include "bus_client.hpp"

#include "bus_errors.hpp"
#include "etmem/contract/bus_names.hpp"
#include "polkit_agent.hpp"
#include "project_properties.hpp"
#include "raw_message.hpp"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <etmem/dbus/manager_proxy.h>
#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <optional>
#include <tuple>

namespace etmem::cli {
namespace {

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

bool projectIsGone(const sdbus::Error& error) {
    const std::string& name = error.getName();
    return name == "org.freedesktop.DBus.Error.UnknownObject" ||
           name == "org.freedesktop.DBus.Error.UnknownInterface" ||
           name == "org.freedesktop.DBus.Error.UnknownMethod";
}

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

    ReloadResult reload() override {
        ReloadResult result;
        std::vector<sdbus::Struct<std::string, uint32_t, std::string, std::string>> failed;
        sdbus::MethodReply reply = change("Reload");
        call([&] {
            reply >> result.added >> result.changed >> result.removed >> result.unchanged >> failed;
        });
        for (auto& row : failed)
            result.failed.push_back({std::move(std::get<0>(row)), std::get<1>(row),
                                     std::move(std::get<2>(row)), std::move(std::get<3>(row))});
        return result;
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
        ProjectInfo info;
        info.name = entry.name;
        info.state = entry.state;
        try {
            auto proxy = sdbus::createProxy(*connection_, busName_, entry.objectPath);
            auto getAll = proxy->createMethodCall("org.freedesktop.DBus.Properties", "GetAll");
            getAll << std::string(bus::kProjectInterface);
            auto reply = proxy->callMethod(getAll);
            readProjectProperties(reply, info);
        } catch (const sdbus::Error& error) {
            if (projectIsGone(error)) return std::nullopt;
            throw ClientError(describe(error));
        }
        return info;
    }

    // One round trip for every project: the ObjectManager at "/" answers with each
    // object's properties (1,000 projects: one call instead of 1,001). etmemd refuses it
    // when the reply would be too large for the bus; then one call per project.
    std::vector<ProjectInfo> allProjectDetails() override {
        try {
            auto root = sdbus::createProxy(*connection_, busName_, "/");
            auto reply = root->callMethod(
                root->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects"));
            return readManagedProjects(reply, bus::kProjectInterface);
        } catch (const sdbus::Error& error) {
            if (error.getName() != "org.freedesktop.DBus.Error.LimitsExceeded")
                throw ClientError(describe(error));
        }
        return DaemonClient::allProjectDetails();
    }

  private:
    // A mutating call. On a terminal (and without --no-ask-password) it carries
    // ALLOW_INTERACTIVE_AUTHORIZATION, like systemctl's, and a text agent runs meanwhile so
    // polkit can ask for a password; root needs neither (etmemd allows root outright).
    template <typename... Args>
    sdbus::MethodReply change(const char* method, const Args&... args) {
        sdbus::MethodReply reply;
        call([&] {
            const bool interactive = interactive_ && ::geteuid() != 0;
            std::optional<PolkitAgent> agent;
            if (interactive) agent.emplace();
            auto proxy = sdbus::createProxy(*connection_, busName_, std::string(bus::kManagerPath));
            auto message = proxy->createMethodCall(std::string(bus::kManagerInterface), method);
            ((message << args), ...);
            if (interactive) {
                // sdbus-c++ 1.2 has no setter for ALLOW_INTERACTIVE_AUTHORIZATION.
                sd_bus_message_set_allow_interactive_authorization(RawMessageAccess::raw(message),
                                                                   1);
                reply = proxy->callMethod(message, kInteractiveCallTimeout);
            } else {
                reply = proxy->callMethod(message);
            }
        });
        return reply;
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
