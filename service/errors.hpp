// Failures a client can cause, each with the D-Bus error name it is answered with.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace etmem::service {

enum class ErrorKind {
    ProjectExists,
    NoSuchProject,
    AlreadyRunning,
    NotRunning,
    InvalidConfig,
    AccessDenied,
    InvalidArgument,
    Failed,  // the daemon could not do it (e.g. the state directory is not writable)
};

// "org.openeuler.Etmem.Error.<Kind>"
std::string errorName(ErrorKind kind);

class ServiceError : public std::runtime_error {
  public:
    ServiceError(ErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

  private:
    ErrorKind kind_;
};

}  // namespace etmem::service
