// SPDX-License-Identifier: MulanPSL-2.0
#include "state_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>

#include "etmem/contract/fnv1a.hpp"
#include "etmem/contract/limits.hpp"

namespace etmem::service {
namespace {

constexpr std::string_view kSuffix = ".project";
constexpr std::string_view kLockName = ".lock";
// File names have at most NAME_MAX (255) bytes.
constexpr std::size_t kMaxStemBytes = 255 - kSuffix.size();
// The biggest file a valid project gives: its config (escaped, up to 4 bytes a byte in a
// YAML double-quoted string) and a name. Anything larger is not ours.
constexpr std::size_t kMaxStateFileBytes = 4 * kMaxConfigBytes + 4096;

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

// A state file is a YAML mapping of three keys in a fixed order, its strings double-quoted:
// written and read here by hand (yaml-cpp's scanner was a tenth of etmemd's start with
// 10,000 saved projects), and still YAML, so any YAML reader reads it the same. Inside the
// quotes: printable ASCII as it is; " \ newline and tab as \" \\ \n \t; other ASCII
// controls as \xNN (a code point below 0x80 is that byte); bytes from 0x80 as they are
// (D-Bus strings are UTF-8, and YAML reads UTF-8 unescaped).
void writeQuoted(std::string& out, std::string_view value) {
    out += '"';
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\')
            out += '\\', out += c;
        else if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (byte < 0x20 || byte == 0x7F)
            out += fmt::format("\\x{:02x}", byte);
        else
            out += c;
    }
    out += '"';
}

std::string serialize(const SavedProject& project) {
    std::string out = "name: ";
    writeQuoted(out, project.name);
    out += project.running ? "\nrunning: true\nconfig: " : "\nrunning: false\nconfig: ";
    writeQuoted(out, project.configText);
    out += "\n";
    return out;
}

bool consume(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) return false;
    text.remove_prefix(prefix.size());
    return true;
}

std::optional<char> readHexByte(std::string_view digits) {
    unsigned value = 0;
    const char* end = digits.data() + digits.size();
    const auto [stop, error] = std::from_chars(digits.data(), end, value, 16);
    if (error != std::errc{} || stop != end) return std::nullopt;
    // \x80 and above is a code point, two bytes in UTF-8: yaml-cpp's to read.
    if (value >= 0x80) return std::nullopt;
    return static_cast<char>(value);
}

// A double-quoted scalar as writeQuoted writes it; nullopt for anything else (another
// escape, a raw control byte), which yaml-cpp then reads.
std::optional<std::string> readQuoted(std::string_view& text) {
    if (!consume(text, "\"")) return std::nullopt;
    std::string value;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"') {
            text.remove_prefix(i + 1);
            return value;
        }
        if (c == '\\' && i + 1 < text.size()) {
            const char escaped = text[++i];
            if (escaped == '"' || escaped == '\\')
                value += escaped;
            else if (escaped == 'n')
                value += '\n';
            else if (escaped == 't')
                value += '\t';
            else if (auto hex = escaped == 'x' && i + 2 < text.size()
                                    ? readHexByte(text.substr(i + 1, 2))
                                    : std::nullopt) {
                value += *hex;
                i += 2;
            } else
                return std::nullopt;
        } else if (byte >= 0x20 && byte != 0x7F) {
            value += c;
        } else {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// Exactly what serialize writes; nullopt for any other text (a file written by hand, or by
// an etmemd that used yaml-cpp's emitter), which YAML::Load reads.
std::optional<SavedProject> readOwnFormat(std::string_view text) {
    SavedProject project;
    if (!consume(text, "name: ")) return std::nullopt;
    auto name = readQuoted(text);
    if (!name || !consume(text, "\nrunning: ")) return std::nullopt;
    if (consume(text, "true"))
        project.running = true;
    else if (!consume(text, "false"))
        return std::nullopt;
    if (!consume(text, "\nconfig: ")) return std::nullopt;
    auto config = readQuoted(text);
    if (!config || text != "\n") return std::nullopt;
    project.name = std::move(*name);
    project.configText = std::move(*config);
    return project;
}

SavedProject deserialize(const std::string& text) {
    if (auto own = readOwnFormat(text)) return std::move(*own);
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) throw std::runtime_error("not a mapping");
    SavedProject project;
    project.name = root["name"].as<std::string>();
    project.running = root["running"].as<bool>();
    project.configText = root["config"].as<std::string>();
    return project;
}

bool isAsciiAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Opens a file of the state directory as a plain file or not at all, without blocking: a
// FIFO or a device would hold open() or read() for as long as it likes, while the daemon
// starts with its signals blocked. errno is ENOTSUP when it is not a regular file. (Whether
// a symlink is followed is the caller's: O_NOFOLLOW in flags.)
UniqueFd openRegularFile(const std::filesystem::path& path, int flags, mode_t mode = 0) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode));
    if (!fd) return fd;
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return UniqueFd();
    if (!S_ISREG(info.st_mode)) {
        errno = ENOTSUP;
        return UniqueFd();
    }
    return fd;
}

// The file's bytes, or the errno of the failed open/read. A read error says nothing about
// the file's text, so the caller must not treat it as damage.
struct ReadResult {
    std::string text;
    int error = 0;
    bool tooLarge = false;
};

ReadResult readStateFile(const std::filesystem::path& path) {
    ReadResult result;
    UniqueFd fd(openRegularFile(path, O_RDONLY));
    if (!fd) {
        result.error = errno;
        return result;
    }
    char buffer[64 * 1024];
    for (;;) {
        ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            result.error = errno;
            return result;
        }
        if (got == 0) return result;
        result.text.append(buffer, static_cast<std::size_t>(got));
        if (result.text.size() > kMaxStateFileBytes) {
            result.tooLarge = true;
            return result;
        }
    }
}

void syncDirectory(const std::filesystem::path& directory) {
    UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
}

}  // namespace

StateStore::StateStore(std::filesystem::path directory, Logger& logger)
    : directory_(std::move(directory)), logger_(logger) {}

void StateStore::prepare() {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot create the state directory {}: {}",
                                             directory_.string(), ec.message()));
    const auto lockPath = directory_ / kLockName;
    // Read-only: flock needs no write access, and a file held open for writing would keep
    // the file system from being remounted read-only. An existing lock file still locks on
    // a read-only directory.
    UniqueFd lock(openRegularFile(lockPath, O_RDONLY | O_CREAT | O_NOFOLLOW, 0600));
    if (!lock && errno == EROFS) lock = openRegularFile(lockPath, O_RDONLY | O_NOFOLLOW);
    if (!lock && (errno == ENOTSUP || errno == ELOOP))
        throw std::runtime_error(fmt::format(
            "the lock file {} is not a regular file (a FIFO, socket, device or symlink is "
            "there); remove it and start etmemd again",
            lockPath.string()));
    if (!lock) throw systemError("cannot open the lock file", lockPath);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            throw std::runtime_error(fmt::format(
                "another etmemd uses the state directory {} (it holds {}); stop it first, or "
                "give this one another instance name (-s NAME) or $STATE_DIRECTORY",
                directory_.string(), lockPath.string()));
        throw systemError("cannot lock", lockPath);
    }
    lock_ = std::move(lock);
}

std::string StateStore::encodeFileName(std::string_view name, std::size_t maxBytes) {
    std::string encoded;
    if (name.empty()) encoded = "_";
    for (char c : name) {
        if (isAsciiAlnum(c))
            encoded += c;
        else
            encoded += fmt::format("_{:02x}", static_cast<unsigned char>(c));
    }
    if (encoded.size() <= maxBytes) return encoded;
    std::string suffix = fmt::format("_h{:016x}", fnv1a64(name));
    encoded.resize(maxBytes - suffix.size());
    // Never cut an escape sequence ("_xx") in half.
    if (auto cut = encoded.rfind('_'); cut != std::string::npos && cut + 3 > encoded.size())
        encoded.resize(cut);
    return encoded + suffix;
}

std::string StateStore::decodeFileName(std::string_view fileName) {
    if (fileName == "_") return {};
    std::string name;
    for (std::size_t i = 0; i < fileName.size(); ++i) {
        if (isAsciiAlnum(fileName[i])) {
            name += fileName[i];
            continue;
        }
        if (fileName[i] != '_' || i + 2 >= fileName.size() || hexValue(fileName[i + 1]) < 0 ||
            hexValue(fileName[i + 2]) < 0)
            return {};  // "_h<hash>": shortened, the name is not in it
        name += static_cast<char>(hexValue(fileName[i + 1]) * 16 + hexValue(fileName[i + 2]));
        i += 2;
    }
    return name;
}

std::filesystem::path StateStore::fileFor(const std::string& name) const {
    return directory_ / (encodeFileName(name, kMaxStemBytes) + std::string(kSuffix));
}

bool StateStore::sharesFiles(std::string_view name) {
    return decodeFileName(encodeFileName(name, kMaxStemBytes)) != name;
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
    syncDirectory(directory_);
}

void StateStore::remove(const std::string& name) const {
    const auto file = fileFor(name);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) throw systemError("cannot remove", file);
    syncDirectory(directory_);
}

void StateStore::setAside(const std::string& name, const std::string& reason) const {
    setAsideFile(fileFor(name), reason);
}

void StateStore::setAsideFile(const std::filesystem::path& file, const std::string& reason) const {
    auto aside = file;
    aside += fmt::format(".damaged-{}", ::time(nullptr));
    std::error_code ec;
    std::filesystem::rename(file, aside, ec);
    std::string where = ec ? fmt::format("it could not be set aside ({}) and stays", ec.message())
                           : fmt::format("set aside as {}", aside.string());
    logger_.log(LogLevel::Warning, {},
                fmt::format("state file {} cannot be restored: {}; {} — its project is not "
                            "restored; add it again with 'etmem project add'",
                            file.string(), reason, where));
}

LoadedState StateStore::load() const {
    LoadedState state;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
        const auto& path = entry.path();
        const std::string fileName = path.filename().string();
        if (fileName.starts_with(".tmp-")) {  // left by a crash mid-save: never renamed
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
            continue;
        }
        std::error_code typeError;
        if (path.extension() != kSuffix || !entry.is_regular_file(typeError)) continue;
        ReadResult read = readStateFile(path);
        if (read.error == ENOENT || read.error == ENOTSUP) continue;  // gone or replaced
        if (read.error != 0) {
            std::string stem = fileName.substr(0, fileName.size() - kSuffix.size());
            state.unreadable.push_back({path, decodeFileName(stem), std::strerror(read.error)});
            logger_.log(LogLevel::Error, {},
                        fmt::format("state file {} cannot be read: {}; it is kept as it is and "
                                    "its project shown as failed; restart etmemd once the "
                                    "fault is fixed",
                                    path.string(), std::strerror(read.error)));
            continue;
        }
        try {
            if (read.tooLarge)
                throw std::runtime_error(
                    fmt::format("it is larger than {} bytes", kMaxStateFileBytes));
            SavedProject project = deserialize(read.text);
            if (fileFor(project.name) != path)
                throw std::runtime_error("the project name does not match the file name");
            state.projects.push_back(std::move(project));
        } catch (const std::exception& e) {
            setAsideFile(path, e.what());
        }
    }
    if (ec)
        logger_.log(LogLevel::Error, {},
                    fmt::format("cannot read the state directory {}: {}", directory_.string(),
                                ec.message()));
    std::sort(state.projects.begin(), state.projects.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return state;
}

}  // namespace etmem::service
