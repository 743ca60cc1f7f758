// SPDX-License-Identifier: MulanPSL-2.0
// The D-Bus errors etmemd answers with: one name per kind, shared by the daemon (which
// throws them) and the CLI (which explains them).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace etmem::bus {

inline constexpr std::string_view kErrorPrefix = "org.openeuler.Etmem.Error.";

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

// "ProjectExists", ...
std::string_view errorSuffix(ErrorKind kind);
// "org.openeuler.Etmem.Error.<Kind>"
std::string errorName(ErrorKind kind);
// The kind of a full error name; nullopt for a name that is not one of etmemd's.
std::optional<ErrorKind> errorKindOf(std::string_view errorName);

}  // namespace etmem::bus
