#include "polkit_rig.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <stdexcept>

namespace etmem::test {

std::string polkitBusConfig() {
    return "<include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>"
           "<policy user=\"root\"><allow own=\"org.freedesktop.PolicyKit1\"/></policy>";
}

bool nameHasOwner(sdbus::IConnection& connection, const std::string& name) {
    auto proxy = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    bool owned = false;
    proxy->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(name)
        .storeResultsTo(owned);
    return owned;
}

PolkitDaemon::PolkitDaemon(const PrivateBus& bus, const std::filesystem::path& dir,
                           const std::string& rules) {
    const auto actions = dir / "polkit-actions";
    const auto rulesDir = dir / "polkit-rules.d";
    std::filesystem::create_directories(actions);
    std::filesystem::create_directories(rulesDir);
    std::filesystem::copy_file(
        std::filesystem::path(ETMEM_SOURCE_DIR) / "polkit/org.openeuler.etmem.policy",
        actions / "org.openeuler.etmem.policy", std::filesystem::copy_options::overwrite_existing);
    writeFile(rulesDir / "50-test.rules", rules);
    for (const auto& path : {actions, rulesDir}) chmod(path.c_str(), 0755);
    // polkitd drops to its own user: everything it reads must be world-readable.
    chmod((rulesDir / "50-test.rules").c_str(), 0644);
    chmod((actions / "org.openeuler.etmem.policy").c_str(), 0644);
    process_ = Process::spawn(
        {"/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-ec",
         "mount --bind \"$1\" /usr/share/polkit-1/actions; "
         "mount --bind \"$2\" /etc/polkit-1/rules.d; exec /usr/lib/polkit-1/polkitd --no-debug",
         "sh", actions.string(), rulesDir.string()},
        bus.environment(), outputTo((dir / "polkitd.log").string()));
}

bool PolkitDaemon::waitReady(sdbus::IConnection& probe, std::chrono::milliseconds timeout) {
    return eventually([&] { return nameHasOwner(probe, kPolkitName); }, timeout,
                      std::chrono::milliseconds(50));
}

SilentPolkit::SilentPolkit(const std::string& busAddress)
    : connection_(sdbus::createSessionBusConnectionWithAddress(busAddress)) {
    connection_->requestName(kPolkitName);
}

std::vector<std::string> asUser(const std::string& user, std::vector<std::string> argv) {
    // The user's own primary group by number: "nobody"'s group is "nogroup" on Debian.
    const passwd* entry = getpwnam(user.c_str());
    if (entry == nullptr) throw std::runtime_error("no user " + user);
    std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(entry->pw_uid),
                                  "--regid=" + std::to_string(entry->pw_gid), "--clear-groups",
                                  "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

}  // namespace etmem::test
