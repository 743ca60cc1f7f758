// SPDX-License-Identifier: MulanPSL-2.0
// etmem-probe: reports which of the kernel and system features etmem builds on are present on
// the running system (meant for the VM test guests, harmless on any machine: it only reads,
// and touches nothing but its own memory unless --activate asks it to start polkitd).
//
//   etmem-probe [--json] [--activate] [--require FEATURE,...]
//
// --require exits 1 when a listed feature is absent; --activate tries polkitd's D-Bus
// activation (only when PID 1 is systemd).
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "guest_memory.hpp"

namespace {

using etmem::vm::Mapping;
using etmem::vm::readFile;

struct Feature {
    explicit Feature(std::string featureName) : name(std::move(featureName)) {}
    std::string name;
    bool present = false;
    std::string detail;
};

// The kernel's build config, where one can be found (the VM runner passes its path).
std::string kernelConfig(const std::string& release) {
    if (const char* path = std::getenv("ETMEM_VM_KERNEL_CONFIG"); path != nullptr) {
        return readFile(path);
    }
    return readFile("/boot/config-" + release);
}

bool configHas(const std::string& config, const std::string& option) {
    return config.find("\n" + option + "=y") != std::string::npos ||
           config.find("\n" + option + "=m") != std::string::npos;
}

Feature probeIdlePageTracking() {
    Feature feature{"idle_page_tracking"};
    feature.present = ::access("/sys/kernel/mm/page_idle/bitmap", F_OK) == 0;
    feature.detail = feature.present ? "/sys/kernel/mm/page_idle/bitmap" : "no page_idle bitmap";
    return feature;
}

// Live check on our own memory: clear soft-dirty bits, write a page, see bit 55 set.
Feature probeSoftDirty() {
    Feature feature{"soft_dirty"};
    Mapping page(etmem::vm::pageSize());
    etmem::vm::Pagemap pagemap(::getpid());
    if (!page.valid() || !pagemap.valid()) {
        feature.detail = "cannot map or read pagemap";
        return feature;
    }
    page.bytes()[0] = 1;
    if (!etmem::vm::writeFile("/proc/self/clear_refs", "4")) {
        feature.detail = "clear_refs rejects 4";
        return feature;
    }
    auto cleared = pagemap.entry(page.bytes());
    page.bytes()[0] = 2;
    auto written = pagemap.entry(page.bytes());
    feature.present = cleared && written && (*cleared & etmem::vm::kPagemapSoftDirty) == 0 &&
                      (*written & etmem::vm::kPagemapSoftDirty) != 0;
    feature.detail = feature.present ? "pagemap bit 55 follows writes" : "bit 55 does not follow";
    return feature;
}

Feature probeDamonVaddr(const std::string& config) {
    Feature feature{"damon_vaddr"};
    bool sysfs = ::access("/sys/kernel/mm/damon/admin", F_OK) == 0;
    bool vaddr = configHas(config, "CONFIG_DAMON_VADDR");
    feature.present = sysfs && vaddr;
    feature.detail = std::string(sysfs ? "DAMON sysfs present" : "no DAMON sysfs") + ", " +
                     (config.empty() ? "kernel config unknown"
                                     : (vaddr ? "CONFIG_DAMON_VADDR=y" : "no CONFIG_DAMON_VADDR"));
    return feature;
}

Feature probeZramSwap(const std::string& release) {
    Feature feature{"zram_swap"};
    if (readFile("/proc/swaps").find("/dev/zram") != std::string::npos) {
        feature.present = true;
        feature.detail = "zram swap active";
    } else if (::access("/sys/class/zram-control", F_OK) == 0) {
        feature.present = true;
        feature.detail = "zram loaded, no zram swap active";
    } else {
        auto found = etmem::vm::runCommand("modinfo -k " + release + " zram >/dev/null 2>&1");
        feature.present = found.status == 0;
        feature.detail = feature.present ? "zram module available" : "no zram";
    }
    return feature;
}

// Advises our own memory MADV_COLD: harmless, and tells whether the syscall exists.
Feature probeProcessMadvise() {
    Feature feature{"process_madvise"};
    Mapping page(etmem::vm::pageSize());
    auto pidfd = etmem::vm::pidfdOpen(::getpid());
    if (!pidfd) {
        feature.detail = std::string("pidfd_open: ") + std::strerror(errno);
        return feature;
    }
    page.bytes()[0] = 1;
    long advised = etmem::vm::processMadvise(pidfd.get(), page.bytes(), page.length(), MADV_COLD);
    int error = errno;
    feature.present = advised >= 0 || error == EPERM;
    feature.detail = advised >= 0 ? "MADV_COLD accepted"
                                  : std::string("process_madvise: ") + std::strerror(error);
    return feature;
}

bool systemdIsInit() {
    return readFile("/proc/1/comm") == "systemd\n";
}

Feature probeSystemd() {
    Feature feature{"systemd"};
    if (!systemdIsInit()) {
        feature.detail = "PID 1 is not systemd";
        return feature;
    }
    auto state = etmem::vm::runCommand("systemctl is-system-running 2>/dev/null");
    feature.present = state.output == "running";
    feature.detail = "is-system-running: " + state.output;
    return feature;
}

Feature probePolkitd(bool activate) {
    Feature feature{"polkitd_activation"};
    if (!systemdIsInit()) {
        feature.detail = "PID 1 is not systemd";
        return feature;
    }
    if (!activate) {
        bool activatable =
            ::access("/usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service",
                     F_OK) == 0;
        feature.present = activatable;
        feature.detail = activatable ? "activatable (not tried; --activate tries it)"
                                     : "no polkitd D-Bus service file";
        return feature;
    }
    auto call = etmem::vm::runCommand(
        "busctl --timeout=60 get-property org.freedesktop.PolicyKit1 "
        "/org/freedesktop/PolicyKit1/Authority org.freedesktop.PolicyKit1.Authority "
        "BackendName 2>&1");
    auto active = etmem::vm::runCommand("systemctl is-active polkit.service 2>/dev/null");
    feature.present = call.status == 0 && active.output == "active";
    feature.detail = "BackendName " + call.output + ", polkit.service " + active.output;
    return feature;
}

std::string jsonEscape(const std::string& text) {
    std::string escaped;
    for (char c : text) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        escaped += c;
    }
    return escaped;
}

void printJson(const std::string& release, const std::vector<Feature>& features) {
    std::cout << "{\"kernel\": \"" << jsonEscape(release) << "\", \"features\": {";
    for (std::size_t i = 0; i < features.size(); ++i) {
        std::cout << (i ? ", " : "") << "\"" << features[i].name
                  << "\": {\"present\": " << (features[i].present ? "true" : "false")
                  << ", \"detail\": \"" << jsonEscape(features[i].detail) << "\"}";
    }
    std::cout << "}}\n";
}

void printText(const std::string& release, const std::vector<Feature>& features) {
    std::cout << "kernel " << release << "\n";
    for (const auto& feature : features) {
        std::printf("  %-20s %-3s  %s\n", feature.name.c_str(), feature.present ? "yes" : "no",
                    feature.detail.c_str());
    }
}

std::set<std::string> splitList(const std::string& list) {
    std::set<std::string> items;
    std::istringstream stream(list);
    std::string item;
    while (std::getline(stream, item, ',')) {
        if (!item.empty()) items.insert(item);
    }
    return items;
}

}  // namespace

int main(int argc, char** argv) {
    bool json = false;
    bool activate = false;
    std::set<std::string> required;
    for (int i = 1; i < argc; ++i) {
        std::string argument = argv[i];
        if (argument == "--json") {
            json = true;
        } else if (argument == "--activate") {
            activate = true;
        } else if (argument == "--require" && i + 1 < argc) {
            required = splitList(argv[++i]);
        } else {
            std::cerr << "usage: etmem-probe [--json] [--activate] [--require FEATURE,...]\n";
            return 2;
        }
    }
    utsname names{};
    ::uname(&names);
    std::string release = names.release;
    std::string config = kernelConfig(release);

    std::vector<Feature> features{probeIdlePageTracking(), probeDamonVaddr(config),
                                  probeSoftDirty(),        probeZramSwap(release),
                                  probeProcessMadvise(),   probeSystemd(),
                                  probePolkitd(activate)};
    if (json) {
        printJson(release, features);
    } else {
        printText(release, features);
    }
    int missing = 0;
    for (const auto& feature : features) {
        if (required.erase(feature.name) && !feature.present) {
            std::cerr << "etmem-probe: required feature missing: " << feature.name << "\n";
            ++missing;
        }
    }
    for (const auto& unknown : required) {
        std::cerr << "etmem-probe: unknown feature: " << unknown << "\n";
        ++missing;
    }
    return missing == 0 ? 0 : 1;
}
