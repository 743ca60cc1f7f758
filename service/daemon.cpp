// SPDX-License-Identifier: MulanPSL-2.0
#include "daemon.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "bus_objects.hpp"
#include "call_guard.hpp"
#include "daemon_logger.hpp"
#include "etmem/contract/bus_names.hpp"
#include "etmem/engine_registry.hpp"
#include "etmem/slide/slide_engine.hpp"
#include "event_loop.hpp"
#include "notifier.hpp"
#include "polkit_authorizer.hpp"
#include "project_files.hpp"
#include "project_registry.hpp"
#include "state_store.hpp"
#include "systemd_units.hpp"

namespace etmem::service {
namespace {

// Exit status when the bus connection is lost: a failure, so systemd restarts the unit.
constexpr int kExitBusLost = EXIT_FAILURE;
// How often the bus is asked how much of their replies slow callers have read.
constexpr auto kUnreadRefreshPeriod = std::chrono::milliseconds(200);
constexpr auto kTrimPeriod = std::chrono::seconds(1);

unsigned onlineCores() {
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? static_cast<unsigned>(cores) : 1u;
}

// What this kernel offers the slide engine, for the manager's properties and the log.
BackendInfo describeBackends(backends::ScannerChoice scannerKind) {
    backends::BackendProbe probe = backends::probeBackends();
    BackendInfo info;
    std::string why;
    // Naming only: choose*() makes no backend, so nothing starts or stops here.
    if (auto scanner = backends::chooseScanner(scannerKind, probe, why))
        info.scanner = std::string(backends::toString(*scanner));
    if (auto swapper = backends::chooseSwapper(backends::SwapperChoice::automatic(), probe, why))
        info.swapper = std::string(backends::toString(*swapper));
    info.missing = probe.sentences();
    return info;
}

// The scanner a task with `scanner: auto` gets. $ETMEM_DEFAULT_SCANNER pins one for the
// whole daemon: test rigs on shared hosts use it so that etmemd never claims the host's
// DAMON; an operator may use it to keep every project on one backend.
backends::ScannerChoice defaultScanner() {
    const char* env = std::getenv("ETMEM_DEFAULT_SCANNER");
    if (env == nullptr || *env == '\0') return backends::ScannerChoice::automatic();
    try {
        return backends::parseScannerChoice(env);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(fmt::format("ETMEM_DEFAULT_SCANNER: {}", e.what()));
    }
}

// Each task's engine is the registry row its `engine` key names.
TaskEngineFactory engineFactory(backends::ScannerChoice fallbackScanner) {
    return makeEngineFactory({.defaultScanner = std::string(backends::toString(fallbackScanner))});
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
    void beginBatch() override { next_.beginBatch(), ++batchDepth_; }
    void endBatch() override { next_.endBatch(), --batchDepth_, report(); }
    // Only a changed summary is sent, and one per batch: every datagram is work for the
    // service manager, and an unread notify socket would block this (the bus) thread once
    // its queue is full.
    void report() {
        if (batchDepth_ > 0) return;
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
    int batchDepth_ = 0;
};

}  // namespace

int runDaemon(const DaemonOptions& options) {
    DaemonLogger logger(options.logLevel);
    Notifier notifier;
    const std::string busName = bus::busNameForInstance(options.instance);

    const backends::ScannerChoice scannerKind = defaultScanner();
    auto bus = sdbus::createSystemBusConnection();
    EventLoop loop(*bus);  // blocks the signals before any worker thread exists

    StateStore store(stateDirectoryFor(options.instance, std::getenv("STATE_DIRECTORY")), logger);
    auto authorizer = makePolkitAuthorizer(*bus);
    ProjectRegistry registry(
        store, logger, engineFactory(scannerKind),
        [&loop](auto work) { loop.post(std::move(work)); }, onlineCores());
    registry.setResolveEnvironment({.units = makeSystemdUnitLookup()});
    ProjectFiles files(
        configurationDirectoryFor(options.instance, std::getenv("CONFIGURATION_DIRECTORY")),
        registry, logger);
    BackendInfo backends = describeBackends(scannerKind);
    logger.log(LogLevel::Info,
               fmt::format("scanner: {}; swapper: {}", backends.scanner, backends.swapper));
    for (const auto& missing : backends.missing) logger.log(LogLevel::Warning, missing);
    BusObjects objects(*bus, registry, files, *authorizer, logger, options.instance, backends);
    CallGuard guard(*bus,
                    [&objects](const ReadCall& call) { return objects.replyBytesBound(call); });
    StatusReporter reporter(objects, registry, notifier);
    registry.setListener(&reporter);

    // The name first: a second etmemd on the same name learns it is not the owner before it
    // touches the state directory or any target. Calls that arrive meanwhile wait in the
    // connection until the loop runs, after the restore.
    try {
        bus->requestName(busName);
    } catch (const sdbus::Error& e) {
        logger.log(LogLevel::Error,
                   fmt::format("cannot own the bus name {}: {} (is another etmemd with the same "
                               "-s name running, or is the bus policy not installed?); nothing "
                               "was restored, scanned or changed",
                               busName, e.getMessage()));
        registry.setListener(nullptr);
        return EXIT_FAILURE;
    }
    store.prepare();  // creates and locks the directory; throws if another etmemd holds it
    registry.restore();
    files.reload();  // after the saved projects: a file never takes an API project's name
    objects.serving();
    logger.log(LogLevel::Info,
               fmt::format("etmemd {} serving {} from {}; {}", ETMEM_VERSION, busName,
                           store.directory().string(), registry.summary()));
    notifier.ready(registry.summary());

    loop.onSignal([&](int signal) {
        if (signal == SIGHUP) {  // as the Manager's Reload, for `kill -HUP` and old habits
            logger.log(LogLevel::Info, "received SIGHUP, reloading the project files");
            files.reload();
            objects.reloadErrorsChanged();
            return;
        }
        if (signal != SIGTERM && signal != SIGINT) {
            // SIGUSR1/SIGUSR2/SIGALRM mean nothing to etmemd; their default action would
            // kill it.
            logger.log(LogLevel::Info, fmt::format("received {}, ignored", ::strsignal(signal)));
            return;
        }
        notifier.stopping("stopping: ending every project's cycle");
        logger.log(LogLevel::Info, fmt::format("received {}, stopping", ::strsignal(signal)));
        loop.quit();
    });
    if (auto interval = Notifier::watchdogPingInterval())
        loop.every(*interval, [&notifier] { notifier.watchdogPing(); });
    loop.every(kUnreadRefreshPeriod, [&guard] { guard.refreshUnread(); });
    // Large replies and refused large calls leave freed memory glibc keeps (its mmap
    // threshold grows after each large free): hand it back, so a flood leaves no trace.
    loop.every(kTrimPeriod, [] { ::malloc_trim(0); });
    loop.onMessageFailed([&logger](const std::string& why) {
        logger.log(LogLevel::Warning,
                   fmt::format("could not handle one D-Bus message ({}); serving on", why));
    });

    const EventLoop::Outcome outcome = loop.run();
    if (outcome.why == EventLoop::Exit::BusLost) {
        // A new connection would not get the name back in order (clients would see it
        // vanish anyway); systemd restarts the service (Restart=on-failure) cleanly.
        notifier.stopping("stopping: lost the system bus");
        logger.log(LogLevel::Error,
                   fmt::format("lost the connection to the system bus ({}); exiting so the "
                               "service manager restarts etmemd",
                               outcome.detail));
        registry.shutdown();
        registry.setListener(nullptr);
        return kExitBusLost;
    }

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
