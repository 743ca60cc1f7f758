// SPDX-License-Identifier: MulanPSL-2.0
// Persistence of projects in the state directory (see stateDirectoryFor in options.hpp).
//
// One file per project, "<encoded name>.project", written atomically (temp file, fsync,
// rename, fsync of the directory), so a crash leaves either the old or the new file. The
// store owns its file-name encoding (encodeFileName): it is frozen here, independent of how
// names are escaped on the bus, so a change there never orphans saved projects.
//
// A file whose text cannot be understood is set aside as "*.damaged-<time>" and logged: one
// bad file must not keep the daemon, or the other projects, from starting. A file that
// cannot be *read* (EIO, EACCES, ...) is a different thing: the file may be fine and the
// fault passing, so it is kept where it is and reported as unreadable.
//
// One daemon per directory: prepare() takes an exclusive flock on "<dir>/.lock" for the
// store's lifetime; a second etmemd on the same directory gets a clear error.
//
// Files are opened as plain files only, never waiting on a FIFO or device: anything else in
// the directory is skipped, and a lock file that is not one (a symlink included) is an
// error. A symlinked project file is read as the file it names (only root writes here).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "etmem/log.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::service {

struct SavedProject {
    std::string name;
    std::string configText;  // as the client sent it
    bool running = false;

    bool operator==(const SavedProject&) const = default;
};

// A state file kept in place because reading it failed (not because its text is bad).
struct UnreadableFile {
    std::filesystem::path file;
    std::string name;    // the project name the file name encodes (best effort)
    std::string reason;  // strerror of the failed read
};

struct LoadedState {
    std::vector<SavedProject> projects;  // sorted by name
    std::vector<UnreadableFile> unreadable;
};

class StateStore {
  public:
    StateStore(std::filesystem::path directory, Logger& logger);

    // Creates the directory if needed and locks it. Throws std::runtime_error when it cannot
    // be used or another etmemd holds it.
    void prepare();
    LoadedState load() const;
    // Throws std::runtime_error (with the path and the reason) when the file is not saved.
    void save(const SavedProject& project) const;
    void remove(const std::string& name) const;
    // Renames a project's file to "*.damaged-<time>" and logs why (a saved project that the
    // registry refuses, e.g. its config no longer validates).
    void setAside(const std::string& name, const std::string& reason) const;

    const std::filesystem::path& directory() const { return directory_; }
    std::filesystem::path fileFor(const std::string& name) const;

    // The store's own encoding of a name into a file name of at most maxBytes bytes:
    // [A-Za-z0-9] kept, every other byte as _xx (lowercase hex), "" as "_"; when that is too
    // long, a prefix of it and "_h" + 16 hex digits of a hash of the whole name.
    static std::string encodeFileName(std::string_view name, std::size_t maxBytes);
    // The name encodeFileName encoded, when it was not shortened; "" otherwise.
    static std::string decodeFileName(std::string_view fileName);
    // Whether the name's file name is shortened, and so may be another name's too (the
    // hash makes that rare, not impossible): the registry refuses the second such name.
    static bool sharesFiles(std::string_view name);

  private:
    void setAsideFile(const std::filesystem::path& file, const std::string& reason) const;

    std::filesystem::path directory_;
    Logger& logger_;
    UniqueFd lock_;
};

}  // namespace etmem::service
