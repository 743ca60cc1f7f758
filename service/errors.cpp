#include "errors.hpp"

#include "bus_names.hpp"

namespace etmem::service {

std::string errorName(ErrorKind kind) {
    std::string_view suffix = "Failed";
    switch (kind) {
        case ErrorKind::ProjectExists:
            suffix = "ProjectExists";
            break;
        case ErrorKind::NoSuchProject:
            suffix = "NoSuchProject";
            break;
        case ErrorKind::AlreadyRunning:
            suffix = "AlreadyRunning";
            break;
        case ErrorKind::NotRunning:
            suffix = "NotRunning";
            break;
        case ErrorKind::InvalidConfig:
            suffix = "InvalidConfig";
            break;
        case ErrorKind::AccessDenied:
            suffix = "AccessDenied";
            break;
        case ErrorKind::InvalidArgument:
            suffix = "InvalidArgument";
            break;
        case ErrorKind::Failed:
            break;
    }
    return std::string(bus::kErrorPrefix) + std::string(suffix);
}

}  // namespace etmem::service
