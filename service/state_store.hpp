// Persistence of projects in the state directory ($STATE_DIRECTORY, /var/lib/etmem).
//
// One file per project, "<escaped name>.project", written atomically (temp file, fsync,
// rename, fsync of the directory), so a crash leaves either the old or the new file. A file
// that cannot be read back is renamed "*.damaged", logged, and skipped: one bad file must
// not keep the daemon, or the other projects, from starting.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "etmem/log.hpp"

namespace etmem::service {

struct SavedProject {
    std::string name;
    std::string configText;  // as the client sent it
    bool running = false;

    bool operator==(const SavedProject&) const = default;
};

class StateStore {
  public:
    StateStore(std::filesystem::path directory, Logger& logger);

    // Creates the directory if needed. Throws std::runtime_error when it cannot be used.
    void prepare() const;
    std::vector<SavedProject> load() const;
    // Throws std::runtime_error (with the path and the reason) when the file is not saved.
    void save(const SavedProject& project) const;
    void remove(const std::string& name) const;

    const std::filesystem::path& directory() const { return directory_; }
    std::filesystem::path fileFor(const std::string& name) const;

  private:
    void setAside(const std::filesystem::path& file, const std::string& reason) const;

    std::filesystem::path directory_;
    Logger& logger_;
};

}  // namespace etmem::service
