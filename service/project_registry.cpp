// SPDX-License-Identifier: MulanPSL-2.0
#include "project_registry.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "etmem/config_ini.hpp"
#include "etmem/contract/bus_names.hpp"

namespace etmem::service {

std::string_view toString(ProjectState state) {
    switch (state) {
        case ProjectState::Stopped:
            return "stopped";
        case ProjectState::Running:
            return "running";
        case ProjectState::Failed:
            return "failed";
    }
    return "stopped";
}

namespace {

void joinDistinct(std::string& list, const std::string& name) {
    if (name.empty() || list == name || list.find(name) != std::string::npos) return;
    list = list.empty() ? name : list + ", " + name;
}

ProjectStats sumStats(const std::vector<TaskStatus>& tasks, const ProjectConfig& config) {
    ProjectStats stats;
    for (const auto& task : tasks) {
        stats.cycles += task.cycles;
        stats.lastCycle.combine(task.lastCycle.figures());
        stats.totals.combine(task.totals);
        stats.lastCycleUSec = std::max<std::uint64_t>(
            stats.lastCycleUSec, static_cast<std::uint64_t>(task.lastCycleDuration.count()));
        stats.pids.insert(stats.pids.end(), task.pids.begin(), task.pids.end());
        if (stats.lastError.empty() && !task.lastCycle.error.empty()) {
            // With several tasks, say which one could not do its work.
            stats.lastError =
                config.tasks.size() > 1
                    ? fmt::format("task {}: {}", describeTask(config.tasks[task.taskIndex]),
                                  task.lastCycle.error)
                    : task.lastCycle.error;
        }
    }
    for (const auto& task : tasks) {
        const auto& histogram = task.lastCycle.histogram;
        if (stats.histogram.size() < histogram.size()) stats.histogram.resize(histogram.size());
        for (std::size_t k = 0; k < histogram.size(); ++k) stats.histogram[k] += histogram[k];
        joinDistinct(stats.scanner, task.lastCycle.scanner);
        joinDistinct(stats.swapper, task.lastCycle.swapper);
    }
    std::sort(stats.pids.begin(), stats.pids.end());
    stats.pids.erase(std::unique(stats.pids.begin(), stats.pids.end()), stats.pids.end());
    return stats;
}

std::string ownProcessName() {
    std::string comm;
    std::getline(std::ifstream("/proc/self/comm"), comm);
    return comm;
}

}  // namespace

ProjectRegistry::ProjectRegistry(StateStore& store, Logger& logger, TaskEngineFactory engines,
                                 Poster post, unsigned cores)
    : store_(store),
      logger_(logger),
      engines_(std::move(engines)),
      post_(std::move(post)),
      cores_(cores),
      selfPid_(::getpid()),
      selfComm_(ownProcessName()) {}

ProjectRegistry::~ProjectRegistry() {
    shutdown();
}

ProjectConfig ProjectRegistry::parse(const std::string& name, const std::string& configText,
                                     const ParseOptions& options) const {
    try {
        return parseConfig(configText, options);
    } catch (const ConfigError& e) {
        // A rejected text may have made the parser allocate a lot (1 MiB of '[' peaks at
        // ~240 MiB in yaml-cpp); hand it back to the system instead of keeping it resident.
        ::malloc_trim(0);
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("config of project '{}' is invalid: {}", name, e.what()));
    }
}

std::string ProjectRegistry::selfTargetProblem(const ProjectConfig& config) const {
    for (const auto& task : config.tasks) {
        bool self = task.type == TaskType::Pid ? task.value == std::to_string(selfPid_)
                                               : !selfComm_.empty() && task.value == selfComm_;
        if (self)
            return fmt::format(
                "task {} targets etmemd itself; etmemd never scans or swaps its own memory",
                describeTask(task));
    }
    return {};
}

// Two projects saved in one file would lose one of them at the next start.
std::string ProjectRegistry::stateFileClash(const std::string& name) const {
    if (!StateStore::sharesFiles(name)) return {};
    const auto file = store_.fileFor(name);
    for (const auto& [other, project] : projects_) {
        if (store_.fileFor(other) == file)
            return fmt::format(
                "project name '{}' cannot be saved apart from project '{}': a long name is "
                "saved under its first bytes and a hash, and both give {}; choose a name that "
                "differs from it earlier or is shorter",
                name, other, file.filename().string());
    }
    return {};
}

std::string ProjectRegistry::launchProblem(const Project& project) const {
    if (!project.restoreError.empty()) return project.restoreError;
    if (auto problem = checkHostLimits(project.config, cores_); !problem.empty())
        return fmt::format("it cannot run on this machine: {}", problem);
    return selfTargetProblem(project.config);
}

void ProjectRegistry::markFailed(Project& project, const std::string& why) {
    project.state = ProjectState::Failed;
    project.stats.lastError = why;
    logger_.log(LogLevel::Error, {project.name, {}, 0}, fmt::format("project failed: {}", why));
    if (listener_) listener_->stateChanged(project);
}

const Project& ProjectRegistry::add(const std::string& name, const std::string& configText,
                                    const NamespaceView& caller) {
    if (auto problem = bus::checkProjectName(name); !problem.empty())
        throw ServiceError(ErrorKind::InvalidArgument, problem);
    if (const Project* existing = find(name); existing && !existing->sourceFile.empty())
        throw ServiceError(ErrorKind::ProjectExists,
                           fmt::format("project '{}' already exists, defined by the file {}; "
                                       "edit that file and reload etmemd ('etmem reload')",
                                       name, existing->sourceFile.string()));
    if (projects_.contains(name))
        throw ServiceError(ErrorKind::ProjectExists,
                           fmt::format("project '{}' already exists; delete it first "
                                       "('etmem project del -n {}') or choose another name",
                                       name, name));
    if (auto problem = stateFileClash(name); !problem.empty())
        throw ServiceError(ErrorKind::InvalidArgument, problem);
    Project project;
    project.name = name;
    project.configText = configText;
    project.config = parse(name, configText, ParseOptions{cores_});
    if (auto problem = selfTargetProblem(project.config); !problem.empty())
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("config of project '{}' is refused: {}", name, problem));
    if (auto problem = namespaceProblem(project.config.tasks, caller); !problem.empty())
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("config of project '{}' is refused: {}", name, problem));
    project.normalizedConfig = toYaml(project.config);
    persist(project, false);
    auto& added = projects_.emplace(name, std::move(project)).first->second;
    logger_.log(LogLevel::Info, {name, {}, 0}, "project added");
    if (listener_) listener_->projectAdded(added);
    return added;
}

void ProjectRegistry::remove(const std::string& name, Halted halted) {
    Project& project = mutableGet(name);
    refuseFileProject(project, "deleted");
    const std::string removed = project.name;
    std::string unsaved;
    try {
        store_.remove(removed);
    } catch (const std::exception& e) {
        unsaved = e.what();
    }
    halt(project, std::move(halted));
    projects_.erase(removed);
    logger_.log(LogLevel::Info, {removed, {}, 0}, "project deleted");
    if (listener_) listener_->projectRemoved(removed);
    if (!unsaved.empty()) {
        std::string message = fmt::format(
            "project '{}' is deleted and stopped, but its state file could not be deleted "
            "({}); it would come back when etmemd restarts: delete {} by hand",
            removed, unsaved, store_.fileFor(removed).string());
        logger_.log(LogLevel::Error, {removed, {}, 0}, message);
        throw ServiceError(ErrorKind::Failed, message);
    }
}

void ProjectRegistry::start(const std::string& name) {
    Project& project = mutableGet(name);
    if (project.state == ProjectState::Running)
        throw ServiceError(ErrorKind::AlreadyRunning,
                           fmt::format("project '{}' is already running; stop it first with "
                                       "'etmem migrate stop -n {}'",
                                       name, name));
    if (auto problem = launchProblem(project); !problem.empty()) {
        markFailed(project, problem);
        throw ServiceError(
            project.restoreError.empty() ? ErrorKind::InvalidConfig : ErrorKind::Failed,
            fmt::format("project '{}' cannot start: {}", name, problem));
    }
    persist(project, true);
    if (auto problem = launch(project); !problem.empty()) {
        // Saved as not running again, so that a restart does not try what failed here.
        try {
            saveState(project, false);
        } catch (const std::exception& e) {
            problem += fmt::format(" (and saving it as not running failed: {})", e.what());
        }
        markFailed(project, problem);
        throw ServiceError(ErrorKind::Failed,
                           fmt::format("project '{}' cannot start: {}", name, problem));
    }
    logger_.log(LogLevel::Info, {name, {}, 0}, "project started");
    if (listener_) listener_->stateChanged(project);
}

void ProjectRegistry::stop(const std::string& name, Halted halted) {
    Project& project = mutableGet(name);
    if (project.state != ProjectState::Running)
        throw ServiceError(ErrorKind::NotRunning,
                           fmt::format("project '{}' is not running (it is {}); start it with "
                                       "'etmem migrate start -n {}'",
                                       name, toString(project.state), name));
    halt(project, std::move(halted));
    std::string unsaved;
    try {
        saveState(project, false);
    } catch (const std::exception& e) {
        unsaved = e.what();
    }
    logger_.log(LogLevel::Info, {name, {}, 0}, "project stopped");
    if (listener_) listener_->stateChanged(project);
    if (!unsaved.empty()) {
        std::string message = fmt::format(
            "project '{}' is stopped, but that could not be saved ({}); etmemd would start it "
            "again when it restarts: make room in {} and run 'etmem migrate stop' once more",
            name, unsaved, store_.directory().string());
        logger_.log(LogLevel::Error, {name, {}, 0}, message);
        throw ServiceError(ErrorKind::Failed, message);
    }
}

const Project* ProjectRegistry::find(const std::string& name) const {
    auto it = projects_.find(name);
    return it == projects_.end() ? nullptr : &it->second;
}

const Project& ProjectRegistry::get(const std::string& name) const {
    if (const Project* project = find(name)) return *project;
    throw ServiceError(ErrorKind::NoSuchProject,
                       fmt::format("no project named '{}'; 'etmem project show' lists them", name));
}

Project& ProjectRegistry::mutableGet(const std::string& name) {
    return const_cast<Project&>(get(name));
}

std::vector<const Project*> ProjectRegistry::list() const {
    std::vector<const Project*> all;
    for (const auto& [name, project] : projects_) all.push_back(&project);
    return all;
}

// A file's project is not saved: its file is read again at the next start, where it runs
// whatever an API call did to it meanwhile.
void ProjectRegistry::saveState(const Project& project, bool running) {
    if (project.sourceFile.empty())
        store_.save(SavedProject{project.name, project.configText, running});
}

void ProjectRegistry::refuseFileProject(const Project& project, std::string_view what) const {
    if (project.sourceFile.empty()) return;
    throw ServiceError(ErrorKind::InvalidArgument,
                       fmt::format("project '{}' is defined by the file {} and cannot be {} over "
                                   "the API; change or remove that file and reload etmemd "
                                   "('etmem reload' or 'systemctl reload etmemd')",
                                   project.name, project.sourceFile.string(), what));
}

void ProjectRegistry::persist(const Project& project, bool running) {
    try {
        saveState(project, running);
    } catch (const std::exception& e) {
        throw ServiceError(ErrorKind::Failed,
                           fmt::format("project '{}' could not be saved, nothing was changed: {}",
                                       project.name, e.what()));
    }
}

std::string ProjectRegistry::launch(Project& project) {
    const std::uint64_t runId = nextRunId_++;
    auto report = [this, name = project.name, runId](const TaskStatus& status) {
        post_([this, name, runId, status] { applyStatus(name, runId, status); });
    };
    // Runs within this host's bounds (etmem 1.1's max_threads clamp); the config as written
    // is kept, so a bigger host later runs it as written.
    ProjectConfig fitted = project.config;
    std::vector<std::string> warnings = fitToHost(fitted, cores_);
    for (const auto& warning : warnings)
        logger_.log(LogLevel::Warning, {project.name, {}, 0}, warning);
    std::unique_ptr<ProjectRunner> runner;
    try {
        runner = std::make_unique<ProjectRunner>(project.name, std::move(fitted), engines_, logger_,
                                                 std::move(report), environment_);
    } catch (const std::exception& e) {
        return e.what();  // its reports, if any, name a run id the project never has
    }
    // Reports of the new run are posted, so they are applied after this.
    project.runId = runId;
    project.tasks.assign(project.config.tasks.size(), TaskStatus{});
    for (std::size_t i = 0; i < project.tasks.size(); ++i) project.tasks[i].taskIndex = i;
    project.hostWarning = fmt::format("warning: {}", fmt::join(warnings, "; "));
    if (warnings.empty()) project.hostWarning.clear();
    project.stats = ProjectStats{};
    project.stats.lastError = project.hostWarning;
    project.state = ProjectState::Running;
    project.runner = std::move(runner);
    return {};
}

void ProjectRegistry::halt(Project& project, Halted halted) {
    project.runId = 0;  // reports still queued from that run are ignored
    if (project.state == ProjectState::Running) project.state = ProjectState::Stopped;
    std::unique_ptr<ProjectRunner> runner = std::move(project.runner);
    if (!runner) {
        if (halted) post_(std::move(halted));
        return;
    }
    runner->requestStop();
    retire(std::move(runner), std::move(halted));
}

void ProjectRegistry::retire(std::unique_ptr<ProjectRunner> runner, Halted halted) {
    // Joining here would stall the event loop for as long as the slowest stage takes to
    // see the stop; a reaper joins instead and posts back. The posted erase runs on this
    // thread, after the emplace below.
    const std::uint64_t id = nextReaperId_++;
    reapers_.emplace(id, std::jthread([this, id, runner = std::move(runner),
                                       halted = std::move(halted)]() mutable {
                         runner.reset();  // joins the workers
                         post_([this, id, halted = std::move(halted)] {
                             reapers_.erase(id);  // its thread is returning: a short join
                             if (halted) halted();
                         });
                     }));
}

void ProjectRegistry::applyStatus(const std::string& name, std::uint64_t runId,
                                  const TaskStatus& status) {
    auto it = projects_.find(name);
    if (it == projects_.end() || it->second.runId != runId) return;
    Project& project = it->second;
    TaskStatus& stored = project.tasks.at(status.taskIndex) = status;
    // A task that has reported names its backends, "none" when it had none (as the XML says).
    if (stored.lastCycle.scanner.empty()) stored.lastCycle.scanner = "none";
    if (stored.lastCycle.swapper.empty()) stored.lastCycle.swapper = "none";
    project.stats = sumStats(project.tasks, project.config);
    if (project.stats.lastError.empty()) project.stats.lastError = project.hostWarning;
    if (listener_) listener_->statsChanged(project);
    // A task whose engine could not even start makes the whole project failed: running
    // half of it would look like success to an operator who only reads the state.
    if (status.cycles == 0 && !status.lastCycle.error.empty()) {
        halt(project);
        project.state = ProjectState::Failed;
        logger_.log(LogLevel::Error, {name, {}, 0},
                    fmt::format("project failed: {}", project.stats.lastError));
        if (listener_) listener_->stateChanged(project);
    }
}

void ProjectRegistry::restore() {
    LoadedState state = store_.load();
    // One announcement for the whole restore: per project, Projects and STATUS= would be
    // sent n times with n entries, which made 10,000 projects take 20 s.
    if (listener_) listener_->beginBatch();
    for (const auto& file : state.unreadable) restoreUnreadable(file);
    for (const auto& saved : state.projects) restoreSaved(saved);
    if (listener_) listener_->endBatch();
    ::malloc_trim(0);  // what parsing every file left behind
}

void ProjectRegistry::restoreSaved(const SavedProject& saved) {
    // The same checks as AddProject, but for the host's: those wait for the launch.
    Project project;
    project.name = saved.name;
    project.configText = saved.configText;
    try {
        if (auto problem = bus::checkProjectName(saved.name); !problem.empty())
            throw ServiceError(ErrorKind::InvalidArgument, problem);
        if (projects_.contains(saved.name))
            throw ServiceError(ErrorKind::ProjectExists, "a project of that name is restored");
        project.config = parse(saved.name, saved.configText, ParseOptions{0});
    } catch (const ServiceError& e) {
        store_.setAside(saved.name, e.what());
        return;
    }
    project.normalizedConfig = toYaml(project.config);
    auto& restored = projects_.emplace(saved.name, std::move(project)).first->second;
    if (saved.running) {
        // Kept, and still saved as running: a start with what was missing runs it again.
        if (auto problem = launchProblem(restored); !problem.empty())
            markFailed(restored, problem);
        else if (auto failed = launch(restored); !failed.empty())
            markFailed(restored, failed);
    }
    logger_.log(LogLevel::Info, {saved.name, {}, 0},
                fmt::format("project restored ({})", toString(restored.state)));
    // Announced once, in its final state.
    if (listener_) listener_->projectAdded(restored);
}

void ProjectRegistry::restoreUnreadable(const UnreadableFile& file) {
    std::string name = file.name.empty() ? file.file.stem().string() : file.name;
    if (!bus::checkProjectName(name).empty() || projects_.contains(name)) return;  // logged
    Project project;
    project.name = name;
    project.restoreError = fmt::format(
        "its state file {} could not be read ({}); it is kept as it is: restart "
        "etmemd once the fault is fixed",
        file.file.string(), file.reason);
    project.state = ProjectState::Failed;
    project.stats.lastError = project.restoreError;
    auto& restored = projects_.emplace(name, std::move(project)).first->second;
    if (listener_) listener_->projectAdded(restored);
}

void ProjectRegistry::shutdown() {
    // Ask every project at once, then wait: stopping is as fast as the slowest one.
    for (auto& [name, project] : projects_)
        if (project.runner) project.runner->requestStop();
    for (auto& [name, project] : projects_) halt(project);
    reapers_.clear();  // the process is ending: wait for every worker here
}

std::string ProjectRegistry::summary() const {
    std::size_t running = 0, failed = 0;
    for (const auto& [name, project] : projects_) {
        running += project.state == ProjectState::Running;
        failed += project.state == ProjectState::Failed;
    }
    std::string text =
        fmt::format("{} project{}: {} running, {} stopped", projects_.size(),
                    projects_.size() == 1 ? "" : "s", running, projects_.size() - running - failed);
    if (failed) text += fmt::format(", {} failed", failed);
    return text;
}

// --- etmem 1.1's objects (obj add / obj del)

namespace {

// A ConfigError from a 1.1 file, as the InvalidConfig the client shows.
template <typename Read>
auto readObjects(Read&& read) {
    try {
        return read();
    } catch (const ConfigError& e) {
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("the file is invalid: {}", e.what()));
    }
}

// Whether the project scans regions (1.1's scan_type=region): its own 1.1 text says so;
// once its tasks changed it is kept as YAML, where every task then names the damon scanner.
bool scansRegions(const Project& project) {
    if (detectFormat(project.configText) == ConfigFormat::Ini) {
        try {
            return describeIniObjects(project.configText).regionScan;
        } catch (const ConfigError&) {
            return false;
        }
    }
    const auto& tasks = project.config.tasks;
    return !tasks.empty() && std::all_of(tasks.begin(), tasks.end(), [](const TaskConfig& t) {
        return t.slide.scanner == "damon" || t.engine == "damon";
    });
}

// The text kept for a project whose tasks changed: its normalized YAML, or, with no task
// left, the project alone in the 1.1 form (YAML has no project without tasks), its scan type
// and region keys included so that tasks added later scan as the project says.
std::string savedText(const std::string& name, const ProjectConfig& config, bool regionScan) {
    if (!config.tasks.empty()) return toYaml(config);
    std::string text = fmt::format("[project]\nname={}\n{}loop={}\ninterval={}\nsleep={}\n", name,
                                   regionScan ? "scan_type=region\n" : "", config.loop,
                                   config.interval, config.sleep);
    if (config.sysmemThreshold)
        text += fmt::format("sysmem_threshold={}\n", *config.sysmemThreshold);
    if (config.swapcacheHighWmark && config.swapcacheLowWmark)
        text += fmt::format("swapcache_high_wmark={}\nswapcache_low_wmark={}\n",
                            *config.swapcacheHighWmark, *config.swapcacheLowWmark);
    for (const RegionKey& key : kRegionKeys)  // 0: derived, not given
        if (config.region.*key.field != 0)
            text += fmt::format("{}={}\n", key.name, config.region.*key.field);
    return text;
}

}  // namespace

const Project& ProjectRegistry::addObjects(const std::string& configText,
                                           const NamespaceView& caller) {
    const IniObjects objects = readObjects([&] { return describeIniObjects(configText); });
    if (objects.hasProject) return add(objects.project, configText, caller);
    Project& project = mutableGet(objects.project);
    refuseFileProject(project, "changed");
    const bool regionScan = scansRegions(project);
    ProjectConfig config = readObjects([&] {
        return addIniObjects(project.config, configText, ParseOptions{cores_}, regionScan);
    });
    const std::vector<TaskConfig> added(config.tasks.begin() + project.config.tasks.size(),
                                        config.tasks.end());
    if (auto problem = namespaceProblem(added, caller); !problem.empty())
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("the tasks are refused: {}", problem));
    replaceConfig(project, std::move(config), regionScan);
    logger_.log(LogLevel::Info, {project.name, {}, 0},
                fmt::format("added {} engine and {} task sections", objects.engines.size(),
                            objects.tasks.size()));
    return project;
}

void ProjectRegistry::removeObjects(const std::string& configText, Halted halted) {
    const IniObjects objects = readObjects([&] { return describeIniObjects(configText); });
    if (objects.hasProject) return remove(objects.project, std::move(halted));
    Project& project = mutableGet(objects.project);
    refuseFileProject(project, "changed");
    const bool regionScan = scansRegions(project);
    replaceConfig(project,
                  readObjects([&] { return removeIniObjects(project.config, configText); }),
                  regionScan);
    logger_.log(LogLevel::Info, {project.name, {}, 0},
                fmt::format("removed {} engine and {} task sections", objects.engines.size(),
                            objects.tasks.size()));
    if (halted) halted();
}

// Saves first (nothing changes if that fails), then restarts a running project on the
// new tasks.
void ProjectRegistry::replaceConfig(Project& project, ProjectConfig config, bool regionScan) {
    const bool running = project.state == ProjectState::Running;
    Project saved;
    saved.name = project.name;
    saved.configText = savedText(project.name, config, regionScan);
    persist(saved, running);
    if (running) halt(project);
    project.configText = std::move(saved.configText);
    project.config = std::move(config);
    project.normalizedConfig = toYaml(project.config);
    project.tasks.clear();
    if (running) {
        if (auto problem = launch(project); !problem.empty()) {
            markFailed(project, problem);
            throw ServiceError(ErrorKind::Failed,
                               fmt::format("project '{}' is changed but cannot run again: {}",
                                           project.name, problem));
        }
    }
    if (listener_) listener_->stateChanged(project);
}

}  // namespace etmem::service

// --- Projects from files

namespace etmem::service {

ProjectConfig ProjectRegistry::checkFileConfig(const std::string& text) const {
    ProjectConfig config;
    try {
        config = parseConfig(text, ParseOptions{cores_});
    } catch (const ConfigError&) {
        ::malloc_trim(0);  // as parse() does: a rejected text may have made the parser grow
        throw;
    }
    if (auto problem = selfTargetProblem(config); !problem.empty())
        throw ConfigError(0, 0, {}, {}, problem);
    return config;
}

const Project& ProjectRegistry::addFromFile(const std::string& name,
                                            const std::filesystem::path& file,
                                            const std::string& text, ProjectConfig config) {
    Project project;
    project.name = name;
    project.configText = text;
    project.config = std::move(config);
    project.normalizedConfig = toYaml(project.config);
    project.sourceFile = file;
    auto& added = projects_.emplace(name, std::move(project)).first->second;
    logger_.log(LogLevel::Info, {name, {}, 0}, fmt::format("project added from {}", file.string()));
    if (auto problem = launch(added); !problem.empty())
        markFailed(added, problem);
    else
        logger_.log(LogLevel::Info, {name, {}, 0}, "project started");
    if (listener_) listener_->projectAdded(added);
    return added;
}

void ProjectRegistry::replaceFromFile(const std::string& name, const std::filesystem::path& file,
                                      const std::string& text, ProjectConfig config) {
    Project& project = mutableGet(name);
    halt(project);
    project.configText = text;
    project.config = std::move(config);
    project.normalizedConfig = toYaml(project.config);
    project.sourceFile = file;
    project.fileError.clear();
    project.restoreError.clear();
    project.tasks.clear();
    logger_.log(LogLevel::Info, {name, {}, 0},
                fmt::format("project restarted on the new text of {}", file.string()));
    if (auto problem = launch(project); !problem.empty()) {
        markFailed(project, problem);
        return;
    }
    if (listener_) listener_->stateChanged(project);
}

void ProjectRegistry::removeFromFile(const std::string& name) {
    Project& project = mutableGet(name);
    halt(project);
    projects_.erase(name);
    if (listener_) listener_->projectRemoved(name);
}

void ProjectRegistry::setFileError(const std::string& name, const std::string& error) {
    Project& project = mutableGet(name);
    if (project.fileError == error) return;
    project.fileError = error;
    if (listener_) listener_->stateChanged(project);
}

void ProjectRegistry::beginBatch() {
    if (listener_) listener_->beginBatch();
}

void ProjectRegistry::endBatch() {
    if (listener_) listener_->endBatch();
}

}  // namespace etmem::service
