// SPDX-License-Identifier: MulanPSL-2.0
// Declarative projects: every config file in <configuration directory>/projects.d is a
// project named after its file, kept in line with the files at start and on each reload.
//
// The configuration directory is $CONFIGURATION_DIRECTORY when set (systemd's
// ConfigurationDirectory=; its first entry), else /etc/etmem for the main instance and
// /etc/etmem@<escaped NAME> for -s NAME, as the state directory is found.
//
// A file is "<name>.yaml", "<name>.yml" or "<name>.conf", in any of the forms `etmem project
// add` and `etmem obj add` read (YAML, etmem 1.0's, etmem 1.1's sections): the text decides
// the reader, the suffix only marks the file as a project. Other names (dot files, editors'
// and package managers' leftovers such as x.yaml~ or x.yaml.dpkg-old) are not projects. Two
// files that give one name (x.yaml and x.conf) are both refused: neither is guessed.
//
// File projects are not saved in the state directory: their files are their source, so a
// restart reads them again. An imperative project (added over the API) keeps its name: a
// file of the same name is refused until that project is deleted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "daemon_logger.hpp"
#include "project_registry.hpp"

namespace etmem::service {

// One project file as read from the directory.
struct ProjectFile {
    std::string name;
    std::filesystem::path path;
    std::string text;
};

// A file that could not become (or change) its project, and why: line and key where the
// config reader knew them (0 and "" otherwise).
struct FileFailure {
    std::string name;  // the project the file would be; "" when the file name gives none
    std::filesystem::path path;
    int line = 0;
    std::string key;
    std::string message;

    std::string sentence() const;  // "<path>: line L: key: message"
};

struct ProjectFileSet {
    std::vector<ProjectFile> files;  // sorted by name
    std::vector<FileFailure> failures;
};

std::filesystem::path configurationDirectoryFor(std::string_view instance,
                                                const char* configurationDirectoryEnv);

// Reads every project file of `directory` (its absence is an empty set). Never throws for
// one file's fault: that file is a failure and the others are read.
ProjectFileSet readProjectFiles(const std::filesystem::path& directory);

// What a reload did, by project name (failed: by file).
struct ReloadReport {
    std::vector<std::string> added, changed, removed, unchanged;
    std::vector<FileFailure> failed;

    std::string summary() const;  // "2 added, 1 changed, 0 removed, 5 unchanged, 1 failed"
};

// Brings the registry's file projects in line with the files. Lives on the registry's thread.
class ProjectFiles {
  public:
    ProjectFiles(std::filesystem::path configurationDirectory, ProjectRegistry& registry,
                 Logger& logger);

    ReloadReport reload();
    const std::filesystem::path& directory() const { return directory_; }
    // The failures of the last reload (the Manager's ReloadErrors).
    const std::vector<FileFailure>& failures() const { return lastFailures_; }

  private:
    void bringInLine(const ProjectFile& file, ReloadReport& report);
    void refuse(FileFailure failure, ReloadReport& report);

    std::filesystem::path directory_;
    ProjectRegistry& registry_;
    Logger& logger_;
    std::vector<FileFailure> lastFailures_;
};

}  // namespace etmem::service
