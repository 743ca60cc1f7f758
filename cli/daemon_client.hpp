// What the CLI asks of etmemd. BusClient implements it over D-Bus; tests use a fake.
#pragma once

#include "project_info.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace etmem::cli {

// An operation failed; what() is the one line to show the user (without "etmem: ").
class ClientError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ProjectEntry {
    std::string name;
    std::string state;
    std::string objectPath;
};

class DaemonClient {
  public:
    virtual ~DaemonClient() = default;
    // Each throws ClientError.
    virtual void addProject(const std::string& name, const std::string& configText) = 0;
    virtual void removeProject(const std::string& name) = 0;
    virtual void startProject(const std::string& name) = 0;
    virtual void stopProject(const std::string& name) = 0;
    // etmem 1.1's obj add / obj del of a 1.1 file's text.
    virtual void addObjects(const std::string& configText) = 0;
    virtual void removeObjects(const std::string& configText) = 0;
    virtual std::vector<ProjectEntry> listProjects() = 0;
    // nullopt when the project went away after it was listed.
    virtual std::optional<ProjectInfo> projectDetails(const ProjectEntry& entry) = 0;
};

// Connects to the etmemd of an instance ("" = the default one); throws ClientError.
using ClientFactory = std::function<std::unique_ptr<DaemonClient>(const std::string& instance)>;

}  // namespace etmem::cli
