#include "daemon.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "bus_names.hpp"
#include "bus_objects.hpp"
#include "daemon_logger.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "event_loop.hpp"
#include "notifier.hpp"
#include "polkit_authorizer.hpp"
#include "project_registry.hpp"
#include "state_store.hpp"
#include "systemd_units.hpp"

namespace etmem::service {
namespace {

std::filesystem::path stateDirectory() {
    // systemd's StateDirectory= sets $STATE_DIRECTORY (possibly a ':'-separated list).
    if (const char* env = std::getenv("STATE_DIRECTORY"); env && *env) {
        std::string_view list(env);
        return std::filesystem::path(std::string(list.substr(0, list.find(':'))));
    }
    return "/var/lib/etmem";
}

unsigned onlineCores() {
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? static_cast<unsigned>(cores) : 1u;
}

// What this kernel offers the slide engine, for the manager's properties and the log.
BackendInfo describeBackends(slide::ScannerKind scannerKind) {
    slide::BackendProbe probe = slide::probeBackends();
    BackendInfo info;
    std::string why;
    if (auto scanner = slide::makeScanner(scannerKind, probe, {}, why))
        info.scanner = std::string(scanner->name());
    if (auto swapper = slide::makeSwapper(slide::SwapperKind::Auto, probe, {}, why))
        info.swapper = std::string(swapper->name());
    info.missing = probe.missing;
    return info;
}

// The scanner a task with `scanner: auto` gets. $ETMEM_DEFAULT_SCANNER pins one for the
// whole daemon: test rigs on shared hosts use it so that etmemd never claims the host's
// DAMON; an operator may use it to keep every project on one backend.
slide::ScannerKind defaultScanner() {
    const char* env = std::getenv("ETMEM_DEFAULT_SCANNER");
    if (env == nullptr || *env == '\0') return slide::ScannerKind::Auto;
    try {
        return slide::parseScannerKind(env);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(fmt::format("ETMEM_DEFAULT_SCANNER: {}", e.what()));
    }
}

TaskEngineFactory engineFactory(slide::ScannerKind fallbackScanner) {
    return [fallbackScanner](const EngineContext& context) {
        // "slide" is the only engine the config accepts. The engine probes its backends
        // itself, so a kernel that gains a feature (swap turned on) is used at once.
        slide::SlideOptions options;
        options.scanner = context.task.scanner == "auto"
                              ? fallbackScanner
                              : slide::parseScannerKind(context.task.scanner);
        options.swapper = slide::parseSwapperKind(context.task.swapper);
        return slide::makeSlideEngine(context, std::move(options));
    };
}

// Keeps STATUS= current whenever the set of projects or their states change.
class StatusReporter final : public RegistryListener {
  public:
    StatusReporter(RegistryListener& next, const ProjectRegistry& registry,
                   const Notifier& notifier)
        : next_(next), registry_(registry), notifier_(notifier) {}
    void projectAdded(const Project& p) override { next_.projectAdded(p), report(); }
    void projectRemoved(const std::string& n) override { next_.projectRemoved(n), report(); }
    void stateChanged(const Project& p) override { next_.stateChanged(p), report(); }
    void statsChanged(const Project& p) override { next_.statsChanged(p); }
    // Only a changed summary is sent: every datagram is work for the service manager, and
    // an unread notify socket would block this (the bus) thread once its queue is full.
    void report() {
        std::string summary = registry_.summary();
        if (summary == lastSent_) return;
        notifier_.status(summary);
        lastSent_ = std::move(summary);
    }

  private:
    RegistryListener& next_;
    const ProjectRegistry& registry_;
    const Notifier& notifier_;
    std::string lastSent_;
};

}  // namespace

int runDaemon(const DaemonOptions& options) {
    DaemonLogger logger(options.logLevel);
    Notifier notifier;
    const std::string busName = bus::busNameForInstance(options.instance);

    const slide::ScannerKind scannerKind = defaultScanner();
    auto bus = sdbus::createSystemBusConnection();
    EventLoop loop(*bus);  // blocks the signals before any worker thread exists

    StateStore store(stateDirectory(), logger);
    store.prepare();
    auto authorizer = makePolkitAuthorizer(*bus);
    ProjectRegistry registry(
        store, logger, engineFactory(scannerKind),
        [&loop](auto work) { loop.post(std::move(work)); }, onlineCores());
    registry.setResolveEnvironment({.units = makeSystemdUnitLookup()});
    BackendInfo backends = describeBackends(scannerKind);
    logger.log(LogLevel::Info,
               fmt::format("scanner: {}; swapper: {}", backends.scanner, backends.swapper));
    for (const auto& missing : backends.missing) logger.log(LogLevel::Warning, missing);
    BusObjects objects(*bus, registry, *authorizer, logger, options.instance, backends);
    StatusReporter reporter(objects, registry, notifier);
    registry.setListener(&reporter);

    registry.restore();
    try {
        bus->requestName(busName);
    } catch (const sdbus::Error& e) {
        logger.log(LogLevel::Error,
                   fmt::format("cannot own the bus name {}: {} (is another etmemd with the same "
                               "-s name running, or is the bus policy not installed?)",
                               busName, e.getMessage()));
        registry.setListener(nullptr);
        return EXIT_FAILURE;
    }
    logger.log(LogLevel::Info,
               fmt::format("etmemd {} serving {} from {}; {}", ETMEM_VERSION, busName,
                           store.directory().string(), registry.summary()));
    notifier.ready(registry.summary());

    loop.onSignal([&](int signal) {
        if (signal == SIGHUP) return;  // no configuration to reload
        notifier.stopping("stopping: ending every project's cycle");
        logger.log(LogLevel::Info, fmt::format("received {}, stopping", ::strsignal(signal)));
        loop.quit();
    });
    if (auto interval = Notifier::watchdogPingInterval())
        loop.every(*interval, [&notifier] { notifier.watchdogPing(); });

    loop.run();

    registry.shutdown();
    registry.setListener(nullptr);
    try {
        bus->releaseName(busName);
    } catch (const sdbus::Error&) {
        // The bus may already be gone; the name goes with our connection anyway.
    }
    logger.log(LogLevel::Info, "stopped");
    return EXIT_SUCCESS;
}

}  // namespace etmem::service
