// SPDX-License-Identifier: MulanPSL-2.0
// etmem-hostile-caller CONNECTIONS CALLS METHOD BYTES [read]: what a hostile local user does
// to etmemd, on the bus of $DBUS_SYSTEM_BUS_ADDRESS. Opens CONNECTIONS connections and sends
// CALLS calls of METHOD on each:
//   list   ObjectManager.GetManagedObjects at "/"
//   add    Manager.AddProject("hostile-<connection>-<call>", a config of BYTES bytes)
//   start  Manager.StartProject("p")
// Without "read" it never reads a reply: prints "sent" once every call is written, then
// sleeps until killed (at most two minutes). With "read" it waits for every reply and prints
// one line per outcome, "<count> <ok|error name>", then exits 0. Exits 2 on setup errors.
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct Tally {
    std::map<std::string, unsigned> outcomes;
    unsigned pending = 0;
};

int counted(sd_bus_message* reply, void* data, sd_bus_error*) {
    auto* tally = static_cast<Tally*>(data);
    const sd_bus_error* error = sd_bus_message_get_error(reply);
    ++tally->outcomes[error != nullptr ? error->name : "ok"];
    --tally->pending;
    return 1;
}

int newCall(sd_bus* bus, const std::string& method, std::size_t bytes, unsigned connection,
            unsigned call, sd_bus_message** message) {
    if (method == "list")
        return sd_bus_message_new_method_call(bus, message, "org.openeuler.Etmem", "/",
                                              "org.freedesktop.DBus.ObjectManager",
                                              "GetManagedObjects");
    const char* member = method == "add" ? "AddProject" : "StartProject";
    int result =
        sd_bus_message_new_method_call(bus, message, "org.openeuler.Etmem", "/org/openeuler/Etmem",
                                       "org.openeuler.Etmem.Manager", member);
    if (result < 0) return result;
    if (method == "start") return sd_bus_message_append(*message, "s", "p");
    const std::string name = "hostile-" + std::to_string(connection) + "-" + std::to_string(call);
    const std::string config(bytes, '#');
    return sd_bus_message_append(*message, "ss", name.c_str(), config.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: etmem-hostile-caller CONNECTIONS CALLS METHOD BYTES [read]\n");
        return 2;
    }
    const unsigned connections = std::strtoul(argv[1], nullptr, 10);
    const unsigned calls = std::strtoul(argv[2], nullptr, 10);
    const std::string method = argv[3];
    const std::size_t bytes = std::strtoul(argv[4], nullptr, 10);
    const bool read = argc > 5 && std::strcmp(argv[5], "read") == 0;

    Tally tally;
    std::vector<sd_bus*> buses;
    for (unsigned c = 0; c < connections; ++c) {
        sd_bus* bus = nullptr;
        if (int result = sd_bus_open_system(&bus); result < 0) {
            std::fprintf(stderr, "connect: %s\n", std::strerror(-result));
            return 2;
        }
        buses.push_back(bus);
        for (unsigned i = 0; i < calls; ++i) {
            sd_bus_message* message = nullptr;
            int result = newCall(bus, method, bytes, c, i, &message);
            // sd-bus marks a call sent without keeping its cookie NO_REPLY_EXPECTED.
            std::uint64_t cookie = 0;
            if (result >= 0)
                result = read ? sd_bus_call_async(bus, nullptr, message, counted, &tally,
                                                  60 * 1000 * 1000)
                              : sd_bus_send(bus, message, &cookie);
            sd_bus_message_unref(message);
            if (result < 0) {
                std::fprintf(stderr, "call: %s\n", std::strerror(-result));
                return 2;
            }
            if (read) ++tally.pending;
        }
        if (int result = sd_bus_flush(bus); result < 0) {
            std::fprintf(stderr, "flush: %s\n", std::strerror(-result));
            return 2;
        }
    }
    if (!read) {
        std::printf("sent\n");
        std::fflush(stdout);
        ::sleep(120);
        return 0;
    }
    while (tally.pending > 0) {
        bool progressed = false;
        for (sd_bus* bus : buses)
            while (sd_bus_process(bus, nullptr) > 0) progressed = true;
        if (!progressed && tally.pending > 0) sd_bus_wait(buses.front(), 10 * 1000);
    }
    for (const auto& [outcome, count] : tally.outcomes)
        std::printf("%u %s\n", count, outcome.c_str());
    for (sd_bus* bus : buses) sd_bus_flush_close_unref(bus);
    return 0;
}
