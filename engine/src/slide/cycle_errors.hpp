// SPDX-License-Identifier: MulanPSL-2.0
// What kept a cycle from doing all its work, said once each, from any worker: the report's
// error (LastError), and a journal warning when it changes.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "etmem/log.hpp"

namespace etmem::slide {

class CycleErrors {
  public:
    void clear() {
        std::lock_guard lock(mutex_);
        errors_.clear();
    }

    void add(std::string error) {
        std::lock_guard lock(mutex_);
        if (std::find(errors_.begin(), errors_.end(), error) == errors_.end())
            errors_.push_back(std::move(error));
    }

    // The cycle's errors, joined; logged as a warning unless the last cycle said the same.
    std::string finish(Logger& logger, const LogContext& log) {
        std::string joined;
        {
            std::lock_guard lock(mutex_);
            for (const auto& error : errors_) joined += (joined.empty() ? "" : "; ") + error;
        }
        if (!joined.empty() && joined != lastLogged_) logger.log(LogLevel::Warning, log, joined);
        lastLogged_ = joined;
        return joined;
    }

  private:
    std::mutex mutex_;
    std::vector<std::string> errors_;
    std::string lastLogged_;
};

}  // namespace etmem::slide
