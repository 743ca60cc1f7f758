#include "state_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "etmem/contract/bus_names.hpp"
#include "etmem/unique_fd.hpp"

namespace etmem::service {
namespace {

constexpr std::string_view kSuffix = ".project";

std::runtime_error systemError(const std::string& what, const std::filesystem::path& path) {
    return std::runtime_error(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

void writeAll(int fd, const std::string& data, const std::filesystem::path& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw systemError("cannot write", path);
        done += static_cast<std::size_t>(n);
    }
}

std::string serialize(const SavedProject& project) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << project.name;
    out << YAML::Key << "running" << YAML::Value << project.running;
    out << YAML::Key << "config" << YAML::Value << YAML::DoubleQuoted << project.configText;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

SavedProject deserialize(const std::string& text) {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) throw std::runtime_error("not a mapping");
    SavedProject project;
    project.name = root["name"].as<std::string>();
    project.running = root["running"].as<bool>();
    project.configText = root["config"].as<std::string>();
    return project;
}

}  // namespace

StateStore::StateStore(std::filesystem::path directory, Logger& logger)
    : directory_(std::move(directory)), logger_(logger) {}

void StateStore::prepare() const {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot create the state directory {}: {}",
                                             directory_.string(), ec.message()));
}

std::filesystem::path StateStore::fileFor(const std::string& name) const {
    // Escaping may triple a name's length; file names have at most NAME_MAX (255) bytes.
    return directory_ / (bus::boundedLabel(name, 255 - kSuffix.size()) + std::string(kSuffix));
}

void StateStore::save(const SavedProject& project) const {
    const auto target = fileFor(project.name);
    std::string tempName = (directory_ / ".tmp-XXXXXX").string();
    UniqueFd fd(::mkstemp(tempName.data()));
    if (!fd) throw systemError("cannot create a file in", directory_);
    try {
        writeAll(fd.get(), serialize(project), tempName);
        if (::fsync(fd.get()) != 0) throw systemError("cannot sync", tempName);
        fd.reset();
        if (::rename(tempName.c_str(), target.c_str()) != 0)
            throw systemError("cannot replace", target);
    } catch (...) {
        ::unlink(tempName.c_str());
        throw;
    }
    // The rename is durable only once the directory is synced.
    UniqueFd dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
}

void StateStore::remove(const std::string& name) const {
    const auto file = fileFor(name);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) throw systemError("cannot remove", file);
    UniqueFd dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
}

void StateStore::setAside(const std::filesystem::path& file, const std::string& reason) const {
    auto aside = file;
    aside += fmt::format(".damaged-{}", ::time(nullptr));
    std::error_code ec;
    std::filesystem::rename(file, aside, ec);
    logger_.log(LogLevel::Warning, {},
                fmt::format("state file {} is damaged ({}); set aside as {} — its project is "
                            "not restored; add it again with 'etmem project add'",
                            file.string(), reason, ec ? "(rename failed)" : aside.string()));
}

std::vector<SavedProject> StateStore::load() const {
    std::vector<SavedProject> projects;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
        const auto& path = entry.path();
        const std::string fileName = path.filename().string();
        if (fileName.starts_with(".tmp-")) {  // left by a crash mid-save: never renamed
            std::filesystem::remove(path, ec);
            continue;
        }
        if (path.extension() != kSuffix || !entry.is_regular_file()) continue;
        std::ifstream in(path, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        try {
            SavedProject project = deserialize(text.str());
            if (fileFor(project.name) != path)
                throw std::runtime_error("the project name does not match the file name");
            projects.push_back(std::move(project));
        } catch (const std::exception& e) {
            setAside(path, e.what());
        }
    }
    if (ec)
        logger_.log(LogLevel::Error, {},
                    fmt::format("cannot read the state directory {}: {}", directory_.string(),
                                ec.message()));
    std::sort(projects.begin(), projects.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return projects;
}

}  // namespace etmem::service
