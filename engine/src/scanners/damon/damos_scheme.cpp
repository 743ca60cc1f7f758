// SPDX-License-Identifier: MulanPSL-2.0
#include "scanners/damon/damos_scheme.hpp"

#include <string>

#include "etmem/kernel/files.hpp"
#include "scanners/damon/damon_sysfs.hpp"

namespace etmem::scanners::damon {
namespace {

namespace fs = std::filesystem;
using kernel::readNumber;
using kernel::writeText;

void writeNumber(const fs::path& path, std::uint64_t value) {
    writeText(path, std::to_string(value));
}

// max before min, so that every step is a valid range.
void writeRange(const fs::path& dir, std::uint64_t min, std::uint64_t max) {
    writeNumber(dir / "max", max);
    writeNumber(dir / "min", min);
}

}  // namespace

DamosStats DamosStats::since(const DamosStats& earlier) const {
    const bool restarted = nrTried < earlier.nrTried || szTried < earlier.szTried ||
                           nrApplied < earlier.nrApplied || szApplied < earlier.szApplied ||
                           qtExceeds < earlier.qtExceeds;
    if (restarted) return *this;
    return DamosStats{nrTried - earlier.nrTried, szTried - earlier.szTried,
                      nrApplied - earlier.nrApplied, szApplied - earlier.szApplied,
                      qtExceeds - earlier.qtExceeds};
}

void writeDamosScheme(const fs::path& scheme, const DamosScheme& given, std::stop_token stop) {
    writeText(scheme / "action", given.action);
    const auto pattern = scheme / "access_pattern";
    writeRange(pattern / "sz", given.pattern.minSize, given.pattern.maxSize);
    writeRange(pattern / "nr_accesses", given.pattern.minAccesses, given.pattern.maxAccesses);
    writeRange(pattern / "age", given.pattern.minAge, given.pattern.maxAge);
    const auto quotas = scheme / "quotas";
    writeNumber(quotas / "ms", 0);
    writeNumber(quotas / "bytes", given.quota.bytes);
    writeNumber(quotas / "reset_interval_ms", given.quota.resetIntervalMs);
    const auto watermarks = scheme / "watermarks";
    writeText(watermarks / "metric", given.watermarks.metric);
    writeNumber(watermarks / "interval_us", given.watermarks.intervalUs);
    writeNumber(watermarks / "high", given.watermarks.high);
    writeNumber(watermarks / "mid", given.watermarks.mid);
    writeNumber(watermarks / "low", given.watermarks.low);
    // A scheme directory reused from another session may hold that session's filters.
    if (fs::exists(scheme / "filters/nr_filters"))
        writeDamonFile(scheme / "filters/nr_filters", "0", stop);
}

void writeDamosSession(const fs::path& kdamond, const DamonAttrs& attrs,
                       std::span<const pid_t> pids, const DamosScheme& scheme,
                       std::stop_token stop) {
    const auto context = kdamond / "contexts/0";
    writeDamonFile(kdamond / "contexts/nr_contexts", "1", stop);
    writeText(context / "operations", "vaddr");
    const auto monitoring = context / "monitoring_attrs";
    writeNumber(monitoring / "intervals/sample_us", attrs.sampleUs);
    writeNumber(monitoring / "intervals/aggr_us", attrs.aggrUs);
    writeNumber(monitoring / "intervals/update_us", attrs.updateUs);
    writeRange(monitoring / "nr_regions", attrs.minNrRegions, attrs.maxNrRegions);
    const auto targets = context / "targets";
    writeDamonFile(targets / "nr_targets", std::to_string(pids.size()), stop);
    for (std::size_t t = 0; t < pids.size(); ++t) {
        const auto target = targets / std::to_string(t);
        writeNumber(target / "pid_target", static_cast<std::uint64_t>(pids[t]));
        // No initial regions: DAMON spreads them over the address space itself, as etmem
        // 1.1's damon engine let it.
        if (fs::exists(target / "regions/nr_regions"))
            writeDamonFile(target / "regions/nr_regions", "0", stop);
    }
    writeDamonFile(context / "schemes/nr_schemes", "1", stop);
    writeDamosScheme(context / "schemes/0", scheme, stop);
}

void commitDamos(const fs::path& kdamond, std::stop_token stop) {
    writeDamonFile(kdamond / "state", "commit", stop);
}

DamosStats readDamosStats(const fs::path& kdamond, std::stop_token stop) {
    writeDamonFile(kdamond / "state", "update_schemes_stats", stop);
    const auto stats = kdamond / "contexts/0/schemes/0/stats";
    return DamosStats{readNumber(stats / "nr_tried"), readNumber(stats / "sz_tried"),
                      readNumber(stats / "nr_applied"), readNumber(stats / "sz_applied"),
                      readNumber(stats / "qt_exceeds")};
}

}  // namespace etmem::scanners::damon
