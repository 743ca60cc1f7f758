// SPDX-License-Identifier: MulanPSL-2.0
#include "project_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "etmem/contract/bus_names.hpp"
#include "etmem/contract/limits.hpp"
#include "etmem/unique_fd.hpp"
#include "options.hpp"

namespace etmem::service {
namespace {

constexpr std::array<std::string_view, 3> kProjectSuffixes = {".yaml", ".yml", ".conf"};

bool isProjectFileName(const std::string& fileName) {
    if (fileName.empty() || fileName.front() == '.') return false;
    const std::filesystem::path path(fileName);
    const std::string suffix = path.extension().string();
    return !path.stem().empty() && std::find(kProjectSuffixes.begin(), kProjectSuffixes.end(),
                                             suffix) != kProjectSuffixes.end();
}

// The file's text, or throws std::runtime_error saying why not. Never waits on a FIFO or a
// device: only a regular file (a symlink to one included) is read.
std::string readTextFile(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (!fd) throw std::runtime_error(fmt::format("cannot open it: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        throw std::runtime_error(fmt::format("cannot stat it: {}", std::strerror(errno)));
    if (!S_ISREG(st.st_mode)) throw std::runtime_error("it is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxConfigBytes)
        throw std::runtime_error(fmt::format("it has {} bytes; a config has at most {} (1 MiB)",
                                             st.st_size, kMaxConfigBytes));
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::runtime_error(fmt::format("cannot read it: {}", std::strerror(errno)));
        if (n == 0) break;  // shortened meanwhile: what is there is the text
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

FileFailure failureOf(const ProjectFile& file, const ConfigError& error) {
    return {file.name, file.path, error.line(), error.key(), error.what()};
}

}  // namespace

std::string FileFailure::sentence() const {
    // The config reader's message already starts with "line L, column C: key: ".
    return fmt::format("{}: {}", path.string(), message);
}

std::filesystem::path configurationDirectoryFor(std::string_view instance,
                                                const char* configurationDirectoryEnv) {
    if (configurationDirectoryEnv != nullptr && *configurationDirectoryEnv != '\0') {
        std::string_view list(configurationDirectoryEnv);
        return std::filesystem::path(std::string(list.substr(0, list.find(':'))));
    }
    const std::filesystem::path base = "/etc";
    if (instance.empty()) return base / "etmem";
    return base / ("etmem@" + systemdEscape(instance));
}

ProjectFileSet readProjectFiles(const std::filesystem::path& directory) {
    ProjectFileSet set;
    std::error_code ec;
    std::filesystem::directory_iterator it(directory, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory)
            set.failures.push_back(
                {"", directory, 0, "", fmt::format("cannot list the directory: {}", ec.message())});
        return set;
    }
    std::map<std::string, std::vector<ProjectFile>> byName;
    for (const auto& entry : it) {
        const std::string fileName = entry.path().filename().string();
        if (!isProjectFileName(fileName)) continue;
        ProjectFile file{entry.path().stem().string(), entry.path(), {}};
        if (auto problem = bus::checkProjectName(file.name); !problem.empty()) {
            set.failures.push_back(
                {"", file.path, 0, "", fmt::format("the file name gives no project: {}", problem)});
            continue;
        }
        try {
            file.text = readTextFile(file.path);
        } catch (const std::runtime_error& e) {
            set.failures.push_back({file.name, file.path, 0, "", e.what()});
            continue;
        }
        byName[file.name].push_back(std::move(file));
    }
    for (auto& [name, files] : byName) {
        if (files.size() == 1) {
            set.files.push_back(std::move(files.front()));
            continue;
        }
        std::sort(files.begin(), files.end(),
                  [](const auto& a, const auto& b) { return a.path < b.path; });
        std::string all;
        for (const auto& file : files) all += (all.empty() ? "" : ", ") + file.path.string();
        for (const auto& file : files)
            set.failures.push_back({name, file.path, 0, "",
                                    fmt::format("{} files give project '{}' ({}); keep one of them",
                                                files.size(), name, all)});
    }
    std::sort(set.failures.begin(), set.failures.end(),
              [](const auto& a, const auto& b) { return a.path < b.path; });
    return set;
}

std::string ReloadReport::summary() const {
    return fmt::format("{} added, {} changed, {} removed, {} unchanged, {} failed", added.size(),
                       changed.size(), removed.size(), unchanged.size(), failed.size());
}

ProjectFiles::ProjectFiles(std::filesystem::path configurationDirectory, ProjectRegistry& registry,
                           Logger& logger)
    : directory_(std::move(configurationDirectory) / "projects.d"),
      registry_(registry),
      logger_(logger) {}

ReloadReport ProjectFiles::reload() {
    ProjectFileSet set = readProjectFiles(directory_);
    ReloadReport report;
    registry_.beginBatch();
    // A name whose file is refused keeps its project as it is: it is not "removed".
    std::set<std::string> present;
    for (auto& failure : set.failures) {
        if (!failure.name.empty()) present.insert(failure.name);
        refuse(std::move(failure), report);
    }
    for (const auto& file : set.files) {
        present.insert(file.name);
        bringInLine(file, report);
    }
    for (const Project* project : registry_.list()) {
        if (project->sourceFile.empty() || present.contains(project->name)) continue;
        report.removed.push_back(project->name);
    }
    for (const auto& name : report.removed) {
        registry_.removeFromFile(name);
        logger_.log(LogLevel::Info, {name, {}, 0}, "project removed: its file is gone");
    }
    registry_.endBatch();
    lastFailures_ = report.failed;
    logger_.log(report.failed.empty() ? LogLevel::Info : LogLevel::Warning, {},
                fmt::format("project files in {}: {}", directory_.string(), report.summary()));
    return report;
}

void ProjectFiles::refuse(FileFailure failure, ReloadReport& report) {
    const Project* project = failure.name.empty() ? nullptr : registry_.find(failure.name);
    const bool kept = project != nullptr && !project->sourceFile.empty();
    logger_.log(LogLevel::Error, {failure.name, {}, 0},
                fmt::format("project file refused: {}{}", failure.sentence(),
                            kept ? "; the project runs on as it was" : ""));
    if (kept) registry_.setFileError(failure.name, failure.sentence());
    report.failed.push_back(std::move(failure));
}

void ProjectFiles::bringInLine(const ProjectFile& file, ReloadReport& report) {
    const Project* existing = registry_.find(file.name);
    if (existing != nullptr && existing->sourceFile.empty()) {
        refuse({file.name, file.path, 0, "",
                fmt::format("project '{}' was added over the API (it is kept in the state "
                            "directory); delete it ('etmem project del -n {}') and reload to "
                            "let this file define it",
                            file.name, file.name)},
               report);
        return;
    }
    if (existing != nullptr && existing->sourceFile == file.path &&
        existing->configText == file.text) {
        if (!existing->fileError.empty()) registry_.setFileError(file.name, {});
        report.unchanged.push_back(file.name);
        return;
    }
    ProjectConfig config;
    try {
        config = registry_.checkFileConfig(file.text);
    } catch (const ConfigError& e) {
        refuse(failureOf(file, e), report);
        return;
    }
    if (existing == nullptr) {
        registry_.addFromFile(file.name, file.path, file.text, std::move(config));
        report.added.push_back(file.name);
    } else {
        registry_.replaceFromFile(file.name, file.path, file.text, std::move(config));
        report.changed.push_back(file.name);
    }
}

}  // namespace etmem::service
