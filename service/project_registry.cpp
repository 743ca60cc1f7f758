#include "project_registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bus_names.hpp"

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
        stats.pagesScanned += task.lastCycle.pagesScanned;
        stats.pagesHot += task.lastCycle.pagesHot;
        stats.pagesCold += task.lastCycle.pagesCold;
        stats.pagesSwapped += task.lastCycle.pagesSwapped;
        stats.bytesSwapped += task.lastCycle.bytesSwapped;
        stats.lastCycleUSec = std::max<std::uint64_t>(
            stats.lastCycleUSec, static_cast<std::uint64_t>(task.lastCycleDuration.count()));
        stats.totalPagesSwapped += task.totalPagesSwapped;
        stats.totalBytesSwapped += task.totalBytesSwapped;
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

}  // namespace

ProjectRegistry::ProjectRegistry(StateStore& store, Logger& logger, TaskEngineFactory engines,
                                 Poster post, unsigned cores)
    : store_(store),
      logger_(logger),
      engines_(std::move(engines)),
      post_(std::move(post)),
      cores_(cores) {}

ProjectRegistry::~ProjectRegistry() {
    shutdown();
}

ProjectConfig ProjectRegistry::parse(const std::string& name, const std::string& configText) const {
    try {
        return parseConfig(configText, ParseOptions{cores_});
    } catch (const ConfigError& e) {
        throw ServiceError(ErrorKind::InvalidConfig,
                           fmt::format("config of project '{}' is invalid: {}", name, e.what()));
    }
}

const Project& ProjectRegistry::add(const std::string& name, const std::string& configText) {
    if (auto problem = bus::checkProjectName(name); !problem.empty())
        throw ServiceError(ErrorKind::InvalidArgument, problem);
    if (projects_.contains(name))
        throw ServiceError(ErrorKind::ProjectExists,
                           fmt::format("project '{}' already exists; delete it first "
                                       "('etmem project del -n {}') or choose another name",
                                       name, name));
    Project project;
    project.name = name;
    project.configText = configText;
    project.config = parse(name, configText);
    project.normalizedConfig = toYaml(project.config);
    persist(project, false);
    auto& added = projects_.emplace(name, std::move(project)).first->second;
    logger_.log(LogLevel::Info, {name, {}, 0}, "project added");
    if (listener_) listener_->projectAdded(added);
    return added;
}

void ProjectRegistry::remove(const std::string& name) {
    Project& project = mutableGet(name);
    try {
        store_.remove(name);
    } catch (const std::exception& e) {
        throw ServiceError(ErrorKind::Failed, e.what());
    }
    halt(project);
    projects_.erase(name);
    logger_.log(LogLevel::Info, {name, {}, 0}, "project deleted");
    if (listener_) listener_->projectRemoved(name);
}

void ProjectRegistry::start(const std::string& name) {
    Project& project = mutableGet(name);
    if (project.state == ProjectState::Running)
        throw ServiceError(ErrorKind::AlreadyRunning,
                           fmt::format("project '{}' is already running; stop it first with "
                                       "'etmem migrate stop -n {}'",
                                       name, name));
    persist(project, true);
    launch(project);
    logger_.log(LogLevel::Info, {name, {}, 0}, "project started");
    if (listener_) listener_->stateChanged(project);
}

void ProjectRegistry::stop(const std::string& name) {
    Project& project = mutableGet(name);
    if (project.state != ProjectState::Running)
        throw ServiceError(ErrorKind::NotRunning,
                           fmt::format("project '{}' is not running (it is {}); start it with "
                                       "'etmem migrate start -n {}'",
                                       name, toString(project.state), name));
    persist(project, false);
    halt(project);
    logger_.log(LogLevel::Info, {name, {}, 0}, "project stopped");
    if (listener_) listener_->stateChanged(project);
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

void ProjectRegistry::persist(const Project& project, bool running) {
    try {
        store_.save(SavedProject{project.name, project.configText, running});
    } catch (const std::exception& e) {
        throw ServiceError(ErrorKind::Failed,
                           fmt::format("project '{}' could not be saved, nothing was changed: {}",
                                       project.name, e.what()));
    }
}

void ProjectRegistry::launch(Project& project) {
    project.runId = nextRunId_++;
    project.tasks.assign(project.config.tasks.size(), TaskStatus{});
    for (std::size_t i = 0; i < project.tasks.size(); ++i) project.tasks[i].taskIndex = i;
    project.stats = ProjectStats{};
    project.state = ProjectState::Running;
    auto report = [this, name = project.name, runId = project.runId](const TaskStatus& status) {
        post_([this, name, runId, status] { applyStatus(name, runId, status); });
    };
    project.runner = std::make_unique<ProjectRunner>(project.name, project.config, engines_,
                                                     logger_, std::move(report), environment_);
}

void ProjectRegistry::halt(Project& project) {
    project.runner.reset();  // stops and joins the workers
    project.runId = 0;       // reports still queued from that run are ignored
    if (project.state == ProjectState::Running) project.state = ProjectState::Stopped;
}

void ProjectRegistry::applyStatus(const std::string& name, std::uint64_t runId,
                                  const TaskStatus& status) {
    auto it = projects_.find(name);
    if (it == projects_.end() || it->second.runId != runId) return;
    Project& project = it->second;
    project.tasks.at(status.taskIndex) = status;
    project.stats = sumStats(project.tasks, project.config);
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
    for (auto& saved : store_.load()) {
        Project project;
        project.name = saved.name;
        project.configText = saved.configText;
        try {
            project.config = parse(saved.name, saved.configText);
        } catch (const ServiceError& e) {
            logger_.log(LogLevel::Error, {saved.name, {}, 0},
                        fmt::format("saved project not restored: {} (its file {} is kept; fix "
                                    "it or add the project again)",
                                    e.what(), store_.fileFor(saved.name).string()));
            continue;
        }
        project.normalizedConfig = toYaml(project.config);
        auto& restored = projects_.emplace(saved.name, std::move(project)).first->second;
        if (saved.running) launch(restored);
        logger_.log(LogLevel::Info, {saved.name, {}, 0},
                    fmt::format("project restored ({})", toString(restored.state)));
        if (listener_) listener_->projectAdded(restored);
    }
}

void ProjectRegistry::shutdown() {
    // Ask every project at once, then wait: stopping is as fast as the slowest one.
    for (auto& [name, project] : projects_)
        if (project.runner) project.runner->requestStop();
    for (auto& [name, project] : projects_) halt(project);
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

}  // namespace etmem::service
