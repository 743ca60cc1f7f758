// SPDX-License-Identifier: MulanPSL-2.0
// How instance names and project names map onto D-Bus names and object paths.
// Shared by etmemd and the etmem CLI so both derive the same names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace etmem::bus {

inline constexpr std::string_view kDefaultBusName = "org.openeuler.Etmem";
inline constexpr std::string_view kManagerPath = "/org/openeuler/Etmem";
inline constexpr std::string_view kProjectPathPrefix = "/org/openeuler/Etmem/project";
inline constexpr std::string_view kManagerInterface = "org.openeuler.Etmem.Manager";
inline constexpr std::string_view kProjectInterface = "org.openeuler.Etmem.Project";
// The -s|--socket NAME limit of the original etmem (sun_path minus the NUL).
inline constexpr std::size_t kMaxInstanceNameLength = 107;
// Project names: what the original allowed (a file-name-like token).
inline constexpr std::size_t kMaxProjectNameLength = 255;

// Why an instance or project name is refused; "" when it is fine.
std::string checkInstanceName(std::string_view name);
std::string checkProjectName(std::string_view name);

// The well-known bus name of an instance: kDefaultBusName for "", else a name derived from
// it that is a valid bus name for every accepted instance name and differs between names.
std::string busNameForInstance(std::string_view instance);

// systemd's bus label escaping (sd_bus_path_encode): [A-Za-z0-9] kept, every other byte
// as _xx (lowercase hex), "" as "_".
std::string escapeLabel(std::string_view label);
std::string unescapeLabel(std::string_view escaped);

std::string projectObjectPath(std::string_view projectName);

// escapeLabel(label) if it fits in maxLength bytes; otherwise a readable prefix of it and a
// hash of the whole label ("_h" + 16 hex digits), so distinct labels stay distinct. Used
// where the escaped form (up to 3 bytes per byte) meets a length limit: bus names (255),
// file names (NAME_MAX). maxLength must leave room for the hash (at least 18).
std::string boundedLabel(std::string_view label, std::size_t maxLength);

}  // namespace etmem::bus
