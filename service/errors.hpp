// SPDX-License-Identifier: MulanPSL-2.0
// Failures a client can cause, each with the D-Bus error name it is answered with (the
// names are the contract's: etmem/contract/error_names.hpp).
#pragma once

#include <stdexcept>
#include <string>

#include "etmem/contract/error_names.hpp"

namespace etmem::service {

using bus::ErrorKind;
using bus::errorName;

class ServiceError : public std::runtime_error {
  public:
    ServiceError(ErrorKind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

  private:
    ErrorKind kind_;
};

}  // namespace etmem::service
