// SPDX-License-Identifier: MulanPSL-2.0
// The Project interface's properties, read straight from a D-Bus reply into ProjectInfo.
//
// Not through sdbus::Variant: a Variant copies its value into a message of its own, and
// `etmem project show` with 1,000 projects (25 properties each) spent most of its CPU in
// those copies, the reads back out of them and freeing them.
#pragma once

#include "project_info.hpp"

#include <sdbus-c++/Message.h>

#include <string_view>
#include <vector>

namespace etmem::cli {

// Reads the a{sv} at the message's read position (GetAll's reply) into `info`. A property
// that is unknown, or of another type than expected, is skipped and its field left as it
// was: an older or newer daemon may differ, which must not fail the whole listing.
void readProjectProperties(sdbus::Message& message, ProjectInfo& info);

// Reads GetManagedObjects' a{oa{sa{sv}}}: every object with `projectInterface`, by name.
std::vector<ProjectInfo> readManagedProjects(sdbus::Message& message,
                                             std::string_view projectInterface);

}  // namespace etmem::cli
