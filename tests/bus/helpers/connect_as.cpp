// SPDX-License-Identifier: MulanPSL-2.0
// etmem-connect-as UID ADDRESS NAME: connects to the bus at ADDRESS as uid UID
// (setresuid(UID, UID, 0) around the connect), becomes root again (setresuid(0, 0, 0)), then
// calls etmemd's StartProject(NAME). A daemon that reads the caller's uid from /proc/<pid>
// sees root; one that asks the bus sees UID. Prints what the bus recorded, then "ok" or the
// error's name and message; exits 0 on success, 1 when the call failed, 2 on setup errors.
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: etmem-connect-as UID ADDRESS NAME\n");
        return 2;
    }
    const uid_t uid = static_cast<uid_t>(std::strtoul(argv[1], nullptr, 10));
    try {
        if (setresuid(uid, uid, 0) != 0) return std::perror("setresuid"), 2;
        auto connection = sdbus::createSessionBusConnectionWithAddress(argv[2]);
        // The Hello round trip completes the connection while still UID.
        auto busProxy =
            sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        uint32_t recorded = 0;
        busProxy->callMethod("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withArguments(connection->getUniqueName())
            .storeResultsTo(recorded);
        if (setresuid(0, 0, 0) != 0) return std::perror("setresuid back"), 2;
        std::printf("bus uid %u, process uid %u\n", recorded, getuid());
        auto manager =
            sdbus::createProxy(*connection, "org.openeuler.Etmem", "/org/openeuler/Etmem");
        try {
            manager->callMethod("StartProject")
                .onInterface("org.openeuler.Etmem.Manager")
                .withArguments(std::string(argv[3]));
        } catch (const sdbus::Error& error) {
            std::printf("%s\n%s\n", error.getName().c_str(), error.getMessage().c_str());
            return 1;
        }
        std::printf("ok\n");
        return 0;
    } catch (const sdbus::Error& error) {
        std::fprintf(stderr, "setup: %s: %s\n", error.getName().c_str(),
                     error.getMessage().c_str());
        return 2;
    }
}
