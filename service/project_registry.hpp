// SPDX-License-Identifier: MulanPSL-2.0
// The projects etmemd manages: what each is, whether it runs, what its cycles found.
//
// The registry is the manager's logic without the bus: the D-Bus objects are a thin skin
// over it (like systemd-oomd's manager). It lives on the event-loop thread; workers report
// through a poster that runs their updates on that thread, so nothing here needs a lock.
// Every mutating call either does all it says or throws ServiceError having changed
// nothing, saved state included — except stop and remove, which are how an operator gets
// out of trouble: they always take effect, and throw ServiceError(Failed) afterwards when
// the state directory (full, read-only) could not record it, saying what was not saved.
//
// A saved project is checked as AddProject checks its input (name and config), except for
// what depends on the host (max_threads against the core count): that is checked when the
// project is launched, so a project is never dropped because the machine changed; it stays,
// failed, with the reason in LastError.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "errors.hpp"
#include "etmem/config.hpp"
#include "etmem/log.hpp"
#include "etmem/process.hpp"
#include "etmem/project_runner.hpp"
#include "etmem/task_engine.hpp"
#include "state_store.hpp"

namespace etmem::service {

enum class ProjectState { Stopped, Running, Failed };
std::string_view toString(ProjectState state);

// Statistics summed over a project's tasks.
struct ProjectStats {
    std::uint64_t cycles = 0;  // cycles finished by all tasks together
    // The tasks' last-cycle figures and totals since start, each combined by its own rule
    // (counts summed), by name.
    FigureList lastCycle;
    FigureList totals;
    std::uint64_t lastCycleUSec = 0;  // the longest of the tasks' last cycles
    std::vector<pid_t> pids;
    std::string lastError;
    std::vector<std::uint64_t> histogram;  // element-wise sum of the tasks' last cycles
    std::string scanner, swapper;          // of the tasks' last cycles, ", "-joined if they differ
};

struct Project {
    std::string name;
    std::string configText;  // as sent by the client, kept for persistence
    ProjectConfig config;
    std::string normalizedConfig;
    ProjectState state = ProjectState::Stopped;
    std::vector<TaskStatus> tasks;  // one per task, latest cycle
    ProjectStats stats;

    // Why the project cannot run at all (its state file could not be read); "" normally.
    std::string restoreError;
    // What the host changed of the config to run it (max_threads lowered), "warning: ..."
    // in LastError while no cycle has an error to report; "" when nothing.
    std::string hostWarning;

    // The file that defines the project (project_files.hpp); empty for one added over the
    // API. Such a project is never saved in the state directory.
    std::filesystem::path sourceFile;
    // Why the file's current text was refused (the project runs on its previous text); ""
    // when the file is in force.
    std::string fileError;

    // Internal: the workers while running, and which run their reports belong to.
    std::unique_ptr<ProjectRunner> runner;
    std::uint64_t runId = 0;
};

class RegistryListener {
  public:
    virtual ~RegistryListener() = default;
    virtual void projectAdded(const Project& project) = 0;
    virtual void projectRemoved(const std::string& name) = 0;
    virtual void stateChanged(const Project& project) = 0;
    virtual void statsChanged(const Project& project) = 0;
    // Around a burst of changes (the restore at start): a listener may hold back what it
    // sends per change (Projects, STATUS=) and send it once at the end.
    virtual void beginBatch() {}
    virtual void endBatch() {}
};

class ProjectRegistry {
  public:
    // Runs a function on the registry's thread; callable from any thread.
    using Poster = std::function<void(std::function<void()>)>;
    // Run on the registry's thread once a stopped run's workers have all ended.
    using Halted = std::function<void()>;

    ProjectRegistry(StateStore& store, Logger& logger, TaskEngineFactory engines, Poster post,
                    unsigned cores);
    ~ProjectRegistry();

    void setListener(RegistryListener* listener) { listener_ = listener; }
    // How tasks resolve their targets (the unit -> cgroup lookup); applies to runs started
    // afterwards.
    void setResolveEnvironment(ResolveEnvironment environment) {
        environment_ = std::move(environment);
    }

    // caller: the asking client's namespaces; a pid or cgroup path it sees differently from
    // etmemd is refused (InvalidConfig).
    const Project& add(const std::string& name, const std::string& configText,
                       const NamespaceView& caller = {});
    // stop and remove change the state at once and never wait for the workers on this
    // thread: they are joined elsewhere, and `halted` is posted when they have ended.
    void remove(const std::string& name, Halted halted = {});
    void start(const std::string& name);
    void stop(const std::string& name, Halted halted = {});
    // etmem 1.1's `obj add` / `obj del` of a 1.1 file (see the Manager's AddObjects).
    const Project& addObjects(const std::string& configText, const NamespaceView& caller = {});
    // `halted` is posted when the change is done (at once unless a project is removed).
    void removeObjects(const std::string& configText, Halted halted = {});

    const Project* find(const std::string& name) const;
    const Project& get(const std::string& name) const;  // throws NoSuchProject
    std::vector<const Project*> list() const;

    // Restores the saved projects (running ones start). Logs what it cannot restore.
    void restore();
    // Stops every worker without changing what is saved: a restart runs them again.
    void shutdown();

    // "3 projects: 2 running, 1 stopped" — for STATUS= and logs.
    std::string summary() const;

    // --- Projects from files (project_files.hpp), never saved in the state directory.
    // A file's config checked as AddProject checks one; throws ConfigError.
    ProjectConfig checkFileConfig(const std::string& text) const;
    // Adds the project and starts it (a start that fails leaves it failed, saying why).
    const Project& addFromFile(const std::string& name, const std::filesystem::path& file,
                               const std::string& text, ProjectConfig config);
    // Its new text: the project restarts on it (it starts even if it was stopped).
    void replaceFromFile(const std::string& name, const std::filesystem::path& file,
                         const std::string& text, ProjectConfig config);
    void removeFromFile(const std::string& name);
    // Why the file's newest text is refused ("" once it is in force), shown in LastError.
    void setFileError(const std::string& name, const std::string& error);
    // Around a burst of changes, as the restore does (see RegistryListener).
    void beginBatch();
    void endBatch();

  private:
    Project& mutableGet(const std::string& name);
    // Throws when the project is defined by a file: the API may not change or delete it.
    void refuseFileProject(const Project& project, std::string_view what) const;
    void saveState(const Project& project, bool running);
    ProjectConfig parse(const std::string& name, const std::string& configText,
                        const ParseOptions& options) const;
    void restoreSaved(const SavedProject& saved);
    void restoreUnreadable(const UnreadableFile& file);
    std::string launchProblem(const Project& project) const;
    std::string stateFileClash(const std::string& name) const;
    std::string selfTargetProblem(const ProjectConfig& config) const;
    void markFailed(Project& project, const std::string& why);
    // Starts the project's workers; "" or why they could not start (then nothing changed).
    std::string launch(Project& project);
    void halt(Project& project, Halted halted = {});
    // Joins a stopped runner's workers on a thread of its own, then posts `halted`.
    void retire(std::unique_ptr<ProjectRunner> runner, Halted halted);
    void persist(const Project& project, bool running);
    // regionScan: the project's scan type is region (kept in the text when no task is left).
    void replaceConfig(Project& project, ProjectConfig config, bool regionScan);
    void applyStatus(const std::string& name, std::uint64_t runId, const TaskStatus& status);

    StateStore& store_;
    Logger& logger_;
    TaskEngineFactory engines_;
    Poster post_;
    unsigned cores_;
    pid_t selfPid_;
    std::string selfComm_;  // etmemd's own process name: a task naming it is refused
    RegistryListener* listener_ = nullptr;
    ResolveEnvironment environment_;
    std::uint64_t nextRunId_ = 1;
    std::map<std::string, Project> projects_;
    std::uint64_t nextReaperId_ = 1;
    std::map<std::uint64_t, std::jthread> reapers_;  // runners being joined, by id
};

}  // namespace etmem::service
