// SPDX-License-Identifier: MulanPSL-2.0
// What the backends' rows (backends.hpp) feed: parsing a config's choice, the probe, the
// sentence for a missing backend and the factory.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "etmem/backends/backends.hpp"
#include "etmem/kernel/pagemap.hpp"
#include "etmem/kernel/swap.hpp"

namespace etmem::backends {

using namespace etmem::kernel;

namespace {

// "auto, idle_pages, idle_page or damon"
std::string acceptedNames(std::span<const std::string_view> names) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i)
        text +=
            fmt::format("{}{}", i == 0 ? "" : (i + 1 == names.size() ? " or " : ", "), names[i]);
    return text;
}

template <typename Backend>
BackendChoice<Backend> parseChoice(std::string_view what, std::string_view text,
                                   std::span<const BackendRow<Backend>> rows,
                                   std::span<const std::string_view> names) {
    if (text == "auto") return BackendChoice<Backend>::automatic();
    for (const auto& row : rows)
        if (row.name == text) return BackendChoice<Backend>(row);
    throw std::invalid_argument(
        fmt::format("unknown {} '{}': use {}", what, text, acceptedNames(names)));
}

template <typename Backend>
void probeRows(std::span<const BackendRow<Backend>> rows, const KernelPaths& paths,
               BackendProbe& probe) {
    for (const auto& row : rows) {
        std::string missing = row.probe(paths);
        if (missing.empty())
            probe.available.emplace_back(row.name);
        else
            probe.missing.push_back({std::string(row.name), std::move(missing)});
    }
}

// "the damon scanner is not available: it needs DAMON's sysfs interface ... (the probe's
// sentence); ..." or, for auto, every row's needs.
template <typename Backend>
std::string missingSentence(std::string_view what, BackendChoice<Backend> choice,
                            std::span<const BackendRow<Backend>> rows, const BackendProbe& probe) {
    if (const auto* row = choice.row()) {
        std::string why =
            fmt::format("the {} {} is not available: it needs {}", row->name, what, row->needs);
        // The probe's own sentence for this backend says what exactly is wrong here.
        for (const auto& missing : probe.missing)
            if (missing.backend == row->name) why += fmt::format(" ({})", missing.sentence);
        return why + "; provide it, or set " + std::string(what) + " to auto";
    }
    std::string why = fmt::format("no {} is available on this machine:", what);
    for (std::size_t i = 0; i < rows.size(); ++i)
        why += fmt::format("{} {} needs {}", i == 0 ? "" : ";", rows[i].name, rows[i].needs);
    return why;
}

template <typename Backend>
std::optional<BackendChoice<Backend>> choose(std::string_view what, BackendChoice<Backend> choice,
                                             std::span<const BackendRow<Backend>> rows,
                                             const BackendProbe& probe, std::string& why) {
    for (const auto& row : rows)
        if ((choice.isAuto() || choice.row() == &row) && probe.has(row.name))
            return BackendChoice<Backend>(row);
    why = missingSentence(what, choice, rows, probe);
    return std::nullopt;
}

}  // namespace

ScannerChoice parseScannerChoice(std::string_view text) {
    return parseChoice<AccessScanner>("scanner", text, kScannerRows, kScannerNames);
}

SwapperChoice parseSwapperChoice(std::string_view text) {
    return parseChoice<Swapper>("swapper", text, kSwapperRows, kSwapperNames);
}

bool BackendProbe::has(std::string_view backend) const {
    return std::find(available.begin(), available.end(), backend) != available.end();
}

std::vector<std::string> BackendProbe::sentences() const {
    std::vector<std::string> all;
    for (const auto& entry : missing) all.push_back(entry.sentence);
    return all;
}

BackendProbe probeBackends(const KernelPaths& paths) {
    BackendProbe probe;
    probeRows<AccessScanner>(kScannerRows, paths, probe);
    probeRows<Swapper>(kSwapperRows, paths, probe);
    probe.pagemapScan = pagemapScanAvailable();
    probe.swapActive = swapIsActive(paths.proc);
    if (!probe.swapActive) probe.missing.push_back({"", std::string(kNoActiveSwap)});
    return probe;
}

std::optional<ScannerChoice> chooseScanner(ScannerChoice choice, const BackendProbe& probe,
                                           std::string& why) {
    return choose<AccessScanner>("scanner", choice, kScannerRows, probe, why);
}

std::optional<SwapperChoice> chooseSwapper(SwapperChoice choice, const BackendProbe& probe,
                                           std::string& why) {
    return choose<Swapper>("swapper", choice, kSwapperRows, probe, why);
}

std::unique_ptr<AccessScanner> makeScanner(ScannerChoice choice, const BackendProbe& probe,
                                           const BackendSettings& settings, std::string& why) {
    auto chosen = chooseScanner(choice, probe, why);
    return chosen ? chosen->row()->make(settings) : nullptr;
}

std::unique_ptr<Swapper> makeSwapper(SwapperChoice choice, const BackendProbe& probe,
                                     const BackendSettings& settings, std::string& why) {
    auto chosen = chooseSwapper(choice, probe, why);
    return chosen ? chosen->row()->make(settings) : nullptr;
}

}  // namespace etmem::backends
