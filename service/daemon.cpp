#include "daemon.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <csignal>
#include <cstdlib>

#include "bus_names.hpp"
#include "bus_objects.hpp"
#include "daemon_logger.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "event_loop.hpp"
#include "notifier.hpp"
#include "polkit_authorizer.hpp"
#include "project_registry.hpp"
#include "state_store.hpp"

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
BackendInfo describeBackends() {
    slide::BackendProbe probe = slide::probeBackends();
    BackendInfo info;
    std::string why;
    if (auto scanner = slide::makeScanner(slide::ScannerKind::Auto, probe, {}, why))
        info.scanner = std::string(scanner->name());
    if (auto swapper = slide::makeSwapper(slide::SwapperKind::Auto, probe, {}, why))
        info.swapper = std::string(swapper->name());
    info.missing = probe.missing;
    return info;
}

std::unique_ptr<TaskEngine> makeEngine(const EngineContext& context) {
    // "slide" is the only engine the config accepts; each engine probes its backends itself,
    // so a kernel that gains a feature (a module loaded, swap turned on) is used at once.
    return slide::makeSlideEngine(context);
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
    void report() const { notifier_.status(registry_.summary()); }

  private:
    RegistryListener& next_;
    const ProjectRegistry& registry_;
    const Notifier& notifier_;
};

}  // namespace

int runDaemon(const DaemonOptions& options) {
    DaemonLogger logger(options.logLevel);
    Notifier notifier;
    const std::string busName = bus::busNameForInstance(options.instance);

    auto bus = sdbus::createSystemBusConnection();
    EventLoop loop(*bus);  // blocks the signals before any worker thread exists

    StateStore store(stateDirectory(), logger);
    store.prepare();
    auto authorizer = makePolkitAuthorizer(*bus);
    ProjectRegistry registry(
        store, logger, makeEngine, [&loop](auto work) { loop.post(std::move(work)); },
        onlineCores());
    BackendInfo backends = describeBackends();
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
