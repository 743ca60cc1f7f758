// SPDX-License-Identifier: MulanPSL-2.0
// What the daemon reports by name: Report and TaskReports (statistics as dictionaries that
// a new figure extends without a new signature), Gates, TaskGates and TaskSettings (the
// config as the daemon holds it), and org.freedesktop.LogControl1.
#include "bus_fixture.hpp"
#include "polkit_fixture.hpp"

namespace etmem::test {
namespace {

using namespace std::chrono_literals;
using Dictionary = std::map<std::string, sdbus::Variant>;
using Pair = sdbus::Struct<std::string, std::string>;

constexpr const char* kLogControlPath = "/org/freedesktop/LogControl1";
constexpr const char* kLogControl = "org.freedesktop.LogControl1";

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string logControlProperty(sdbus::IConnection& connection, const std::string& property) {
    return sdbus::createProxy(connection, std::string(etmem::bus::kDefaultBusName), kLogControlPath)
        ->getProperty(property)
        .onInterface(kLogControl)
        .get<std::string>();
}

class Reports : public BusTest {
  protected:
    template <typename T>
    T projectProperty(const std::string& name, const std::string& property) {
        return project(name)
            ->getProperty(property)
            .onInterface(etmem::bus::kProjectInterface.data())
            .template get<T>();
    }
    std::string logControl(const std::string& property) {
        return logControlProperty(*connection_, property);
    }
    std::uint32_t managerLogLevel() {
        return manager()
            ->getProperty("LogLevel")
            .onInterface(etmem::bus::kManagerInterface.data())
            .get<std::uint32_t>();
    }
    // As `systemctl service-log-level etmemd LEVEL` does it, through the unit's BusName=.
    CommandResult setLogControl(const std::string& property, const std::string& value) {
        return busctl(
            {"set-property", defaultBusName(), kLogControlPath, kLogControl, property, "s", value});
    }
};

TEST_F(Reports, ReportAndTaskReportsCarryTheStatisticsByName) {
    addProject("p", validConfig());
    callManager("StartProject", "p");
    ASSERT_TRUE(eventually([&] { return projectCycles("p") >= 1; }, 10s)) << daemon_->log();

    auto report = projectProperty<Dictionary>("p", "Report");
    for (const char* key :
         {"cycles", "pids", "last_cycle_usec", "scanner", "swapper", "last_error", "histogram",
          "pages_scanned", "pages_hot", "pages_cold", "pages_swapped", "bytes_swapped",
          "total_pages_swapped", "total_bytes_swapped"})
        EXPECT_TRUE(report.contains(key)) << key;
    // The same values as the properties of the same meaning.
    EXPECT_EQ(report.at("pages_scanned").get<std::uint64_t>(),
              projectProperty<std::uint64_t>("p", "PagesScanned"));
    EXPECT_EQ(report.at("total_bytes_swapped").get<std::uint64_t>(),
              projectProperty<std::uint64_t>("p", "TotalBytesSwapped"));
    EXPECT_EQ(report.at("scanner").get<std::string>(),
              projectProperty<std::string>("p", "Scanner"));
    EXPECT_EQ(report.at("pids").get<std::vector<std::uint32_t>>(),
              std::vector<std::uint32_t>{static_cast<std::uint32_t>(target_.pid())});

    auto tasks = projectProperty<std::vector<Dictionary>>("p", "TaskReports");
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].at("task").get<std::string>(), "pid:" + std::to_string(target_.pid()));
    EXPECT_GE(tasks[0].at("cycles").get<std::uint64_t>(), 1u);
    EXPECT_EQ(tasks[0].at("cgroup").get<std::string>(), "");
    EXPECT_TRUE(tasks[0].contains("pages_cold"));

    // The deprecated tuple is still there, with its signature, for older callers.
    auto introspected = busctl({"introspect", defaultBusName(), etmem::bus::projectObjectPath("p"),
                                "org.openeuler.Etmem.Project"});
    EXPECT_TRUE(contains(introspected.out, "a(sautttttttttsssat)")) << introspected.out;
    EXPECT_TRUE(contains(introspected.out, ".TaskReports")) << introspected.out;
}

TEST_F(Reports, GatesAndSettingsComeFromTheDaemon) {
    const std::string config =
        "options:\n  loop: 1\n  interval: 1\n  sleep: 1\n  sysmem_threshold: 50\n"
        "  sample_interval: 5000\n  policies:\n    type: pid\n    value: " +
        std::to_string(target_.pid()) +
        "\n    max_threads: 1\n    engine: slide\n    param:\n      T: 2\n"
        "    swap_threshold: 10g\n    swap_flag: yes\n    cold_cycles: 3\n";
    addProject("g", config);
    EXPECT_EQ(projectProperty<std::vector<Pair>>("g", "Gates"),
              (std::vector<Pair>{Pair{"sysmem_threshold", "50"}}));
    using TaskGates = sdbus::Struct<std::string, std::vector<Pair>>;
    auto taskGates = projectProperty<std::vector<TaskGates>>("g", "TaskGates");
    ASSERT_EQ(taskGates.size(), 1u);
    EXPECT_EQ(std::get<0>(taskGates[0]), "pid:" + std::to_string(target_.pid()));
    EXPECT_EQ(std::get<1>(taskGates[0]),
              (std::vector<Pair>{Pair{"swap_threshold", "10g"}, Pair{"swap_flag", "yes"}}));

    auto settings = projectProperty<std::vector<Dictionary>>("g", "TaskSettings");
    ASSERT_EQ(settings.size(), 1u);
    EXPECT_EQ(settings[0].at("engine").get<std::string>(), "slide");
    EXPECT_EQ(settings[0].at("T").get<std::uint64_t>(), 2u);
    EXPECT_EQ(settings[0].at("scanner").get<std::string>(), "auto");
    EXPECT_EQ(settings[0].at("cold_cycles").get<std::uint64_t>(), 3u);
    EXPECT_EQ(settings[0].at("sample_interval").get<std::uint64_t>(), 5000u);
    EXPECT_FALSE(settings[0].contains("max_swap_rate"));  // not set

    // The CLI lists the gates it is told, as it listed those it read from the config.
    auto shown = etmem({"project", "show", "-n", "g"});
    ASSERT_TRUE(shown.status.success()) << shown.err;
    EXPECT_TRUE(contains(shown.out,
                         "gates: sysmem_threshold 50, task 1: swap_threshold 10g, "
                         "task 1: swap_flag yes"))
        << shown.out;
}

TEST_F(Reports, LogControlReadsAndSetsTheThreshold) {
    EXPECT_EQ(logControl("LogLevel"), "info");  // etmemd's default, -l 1
    EXPECT_EQ(logControl("SyslogIdentifier"), "etmemd");
    const std::string target = logControl("LogTarget");
    EXPECT_TRUE(target == "journal" || target == "console") << target;

    auto set = setLogControl("LogLevel", "debug");
    ASSERT_TRUE(set.status.success()) << set.err;
    EXPECT_EQ(managerLogLevel(), 0u);
    EXPECT_EQ(logControl("LogLevel"), "debug");
    ASSERT_TRUE(setLogControl("LogLevel", "err").status.success());
    EXPECT_EQ(managerLogLevel(), 3u);
    // notice: etmemd has no notice messages, so it logs from warning up.
    ASSERT_TRUE(setLogControl("LogLevel", "notice").status.success());
    EXPECT_EQ(logControl("LogLevel"), "warning");
    EXPECT_EQ(managerLogLevel(), 2u);

    // The Manager's doors set the same threshold.
    manager()
        ->setProperty("LogLevel")
        .onInterface(etmem::bus::kManagerInterface.data())
        .toValue(std::uint32_t{1});
    EXPECT_EQ(logControl("LogLevel"), "info");

    auto bad = setLogControl("LogLevel", "loud");
    EXPECT_NE(bad.status.code, 0);
    EXPECT_TRUE(contains(bad.err, "loud")) << bad.err;
    EXPECT_FALSE(setLogControl("LogTarget", "kmsg").status.success());
    ASSERT_TRUE(setLogControl("LogTarget", "console").status.success());
    EXPECT_EQ(logControl("LogTarget"), "console");
    EXPECT_EQ(logControl("LogLevel"), "info");
}

// Other users reach the bus here (WithPolkit opens it to them); no polkitd is needed, the
// bus alone says who the caller is.
class LogControlAccess : public WithPolkit {};

TEST_F(LogControlAccess, WritesAreRoots) {
    std::vector<std::string> argv{programs().busctl,
                                  "--address=" + bus_->address(),
                                  "set-property",
                                  defaultBusName(),
                                  kLogControlPath,
                                  kLogControl,
                                  "LogLevel",
                                  "s",
                                  "debug"};
    auto refused = runCommand(asUser("nobody", argv), bus_->environment(), 30s);
    EXPECT_NE(refused.status.code, 0);
    EXPECT_TRUE(contains(refused.err, "root")) << refused.err;
    EXPECT_EQ(logControlProperty(*connection_, "LogLevel"), "info");
}

}  // namespace
}  // namespace etmem::test
