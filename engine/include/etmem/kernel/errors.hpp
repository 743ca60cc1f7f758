// SPDX-License-Identifier: MulanPSL-2.0
// How the kernel's answers reach the engines: a target that is gone, or an interface that
// cannot work here.
#pragma once

#include <stdexcept>

namespace etmem::kernel {

// The target exited (or its address space is gone): drop it from this cycle.
class TargetGone : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A backend cannot work here (missing feature, permission, no swap). what() is a sentence
// that says what to do.
class BackendUnavailable : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace etmem::kernel
