// SPDX-License-Identifier: MulanPSL-2.0
// The D-Bus skin over the registry: the manager object, one object per project, and the
// ObjectManager at the root. Adaptors only check authorization, translate types and map
// ServiceError to named D-Bus errors; the logic is the registry's.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "call_guard.hpp"
#include "daemon_logger.hpp"
#include "polkit_authorizer.hpp"
#include "project_files.hpp"
#include "project_registry.hpp"

namespace etmem::service {

// What the kernel gives the engine, as shown on the manager object.
struct BackendInfo {
    std::string scanner = "none";
    std::string swapper = "none";
    std::vector<std::string> missing;
};

class ManagerObject;
class LogControlObject;
class ProjectObject;
class RootObjectManager;

// Everything etmemd exports. Also the registry's listener, so every change reaches the bus.
class BusObjects final : public RegistryListener {
  public:
    BusObjects(sdbus::IConnection& bus, ProjectRegistry& registry, ProjectFiles& files,
               Authorizer& authorizer, DaemonLogger& logger, std::string instance,
               BackendInfo backends);
    ~BusObjects() override;

    void projectAdded(const Project& project) override;
    void projectRemoved(const std::string& name) override;
    void stateChanged(const Project& project) override;
    void statsChanged(const Project& project) override;
    void beginBatch() override;
    void endBatch() override;

    // At most how many bytes the reply to `call` carries; nullopt for calls whose replies
    // stay small whatever the registry holds.
    std::optional<std::size_t> replyBytesBound(const ReadCall& call) const;

    // From now on clients may be listening: a project added inside a batch (a reload) is
    // announced with InterfacesAdded too. Before it (the start), GetManagedObjects tells.
    void serving() { serving_ = true; }
    // After a reload not asked over the bus (SIGHUP): the Manager's ReloadErrors changed.
    void reloadErrorsChanged();

  private:
    void projectsChanged();
    void logLevelChanged();

    sdbus::IConnection& bus_;
    ProjectRegistry& registry_;
    const ProjectFiles& files_;
    Authorizer& authorizer_;
    std::unique_ptr<RootObjectManager> root_;
    std::unique_ptr<ManagerObject> manager_;
    std::unique_ptr<LogControlObject> logControl_;
    std::map<std::string, std::unique_ptr<ProjectObject>> projects_;
    int batchDepth_ = 0;
    bool serving_ = false;
    bool projectsChangedInBatch_ = false;
};

}  // namespace etmem::service
