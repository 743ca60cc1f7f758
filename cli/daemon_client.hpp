// SPDX-License-Identifier: MulanPSL-2.0
// What the CLI asks of etmemd. BusClient implements it over D-Bus; tests use a fake.
#pragma once

#include "project_info.hpp"

#include <cstdint>
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

// What a reload of the project files did (the Manager's Reload).
struct ReloadResult {
    struct Failure {
        std::string file;
        std::uint32_t line = 0;  // 0: not known
        std::string key;         // "": not known
        std::string message;
    };
    std::vector<std::string> added, changed, removed, unchanged;
    std::vector<Failure> failed;
};

struct ProjectEntry {
    std::string name;
    std::string state;
    std::string objectPath;
};

class DaemonClient {
  public:
    virtual ~DaemonClient() = default;
    // Whether the changes below may let polkit ask for a password (--no-ask-password says
    // no); the bus client asks only when stdin is also a terminal.
    virtual void allowPasswordPrompt(bool /*allowed*/) {}
    // Each throws ClientError.
    virtual void addProject(const std::string& name, const std::string& configText) = 0;
    virtual void removeProject(const std::string& name) = 0;
    virtual void startProject(const std::string& name) = 0;
    virtual void stopProject(const std::string& name) = 0;
    // etmem 1.1's obj add / obj del of a 1.1 file's text.
    virtual void addObjects(const std::string& configText) = 0;
    virtual void removeObjects(const std::string& configText) = 0;
    // Brings the projects defined by files in line with the files.
    virtual ReloadResult reload() { throw ClientError("this client cannot reload etmemd"); }
    virtual std::vector<ProjectEntry> listProjects() = 0;
    // nullopt when the project went away after it was listed.
    virtual std::optional<ProjectInfo> projectDetails(const ProjectEntry& entry) = 0;
    // Every project with its details, by name. By default a listing and a call per project;
    // BusClient does it in one round trip (ObjectManager.GetManagedObjects).
    virtual std::vector<ProjectInfo> allProjectDetails() {
        std::vector<ProjectInfo> projects;
        for (const auto& entry : listProjects())
            if (auto details = projectDetails(entry)) projects.push_back(std::move(*details));
        return projects;
    }
};

// Connects to the etmemd of an instance ("" = the default one); throws ClientError.
using ClientFactory = std::function<std::unique_ptr<DaemonClient>(const std::string& instance)>;

}  // namespace etmem::cli
