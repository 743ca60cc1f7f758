// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/contract/error_names.hpp"

#include <array>
#include <utility>

namespace etmem::bus {
namespace {

constexpr std::array<std::pair<ErrorKind, std::string_view>, 8> kSuffixes = {{
    {ErrorKind::ProjectExists, "ProjectExists"},
    {ErrorKind::NoSuchProject, "NoSuchProject"},
    {ErrorKind::AlreadyRunning, "AlreadyRunning"},
    {ErrorKind::NotRunning, "NotRunning"},
    {ErrorKind::InvalidConfig, "InvalidConfig"},
    {ErrorKind::AccessDenied, "AccessDenied"},
    {ErrorKind::InvalidArgument, "InvalidArgument"},
    {ErrorKind::Failed, "Failed"},
}};

}  // namespace

std::string_view errorSuffix(ErrorKind kind) {
    for (const auto& [known, suffix] : kSuffixes)
        if (known == kind) return suffix;
    return "Failed";
}

std::string errorName(ErrorKind kind) {
    return std::string(kErrorPrefix) + std::string(errorSuffix(kind));
}

std::optional<ErrorKind> errorKindOf(std::string_view name) {
    if (!name.starts_with(kErrorPrefix)) return std::nullopt;
    name.remove_prefix(kErrorPrefix.size());
    for (const auto& [kind, suffix] : kSuffixes)
        if (suffix == name) return kind;
    return std::nullopt;
}

}  // namespace etmem::bus
