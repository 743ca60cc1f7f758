// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's commands against a real etmemd on a private bus: an obj add sequence of
// project, engine and task files, project start|stop|show, obj del, and the Manager's
// AddObjects/RemoveObjects called directly; bad files change nothing.
#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

std::string show(const CommandResult& result) {
    return "exit: " + describe(result.status) + "\nstdout:\n" + result.out + "stderr:\n" +
           result.err;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

class Etmem11 : public BusTest {
  protected:
    std::string projectFile() {
        return writeConfig("proj.config",
                           "[project]\nname=test\nscan_type=page\nloop=1\ninterval=1\nsleep=1\n"
                           "sysmem_threshold=50\nswapcache_high_wmark=10\nswapcache_low_wmark=6\n");
    }
    std::string engineFile() {
        return writeConfig("eng.config", "[engine]\nname=slide\nproject=test\n");
    }
    std::string taskFile(const std::string& name = "background1") {
        return writeConfig(name + ".config",
                           "[task]\nproject=test\nengine=slide\nname=" + name +
                               "\ntype=pid\nvalue=" + std::to_string(target_.pid()) +
                               "\nT=1\nmax_threads=1\nswap_threshold=10g\ndram_percent=40\n");
    }
    std::string config(const std::string& name) {
        return project(name)
            ->getProperty("Config")
            .onInterface("org.openeuler.Etmem.Project")
            .get<std::string>();
    }
};

TEST_F(Etmem11, ObjAddSequenceStartShowStopDel) {
    for (const std::string& file : {projectFile(), engineFile(), taskFile()}) {
        auto added = etmem({"obj", "add", "-f", file});
        ASSERT_TRUE(added.status.success()) << file << "\n" << show(added);
    }
    ASSERT_EQ(listProjects().size(), 1u);
    const std::string normalized = config("test");
    for (std::string key :
         {"sysmem_threshold: 50", "swapcache_high_wmark: 10", "swapcache_low_wmark: 6",
          "name: background1", "swap_threshold: 10g", "dram_percent: 40", "swap_flag: no"})
        EXPECT_TRUE(contains(normalized, key)) << key << "\n" << normalized;

    auto started = etmem({"project", "start", "-n", "test"});
    ASSERT_TRUE(started.status.success()) << show(started);
    EXPECT_TRUE(waitForState("test", "running"));
    auto shown = etmem({"project", "show", "-n", "test"});
    ASSERT_TRUE(shown.status.success()) << show(shown);
    EXPECT_TRUE(contains(shown.out, std::to_string(target_.pid()))) << shown.out;
    EXPECT_TRUE(contains(shown.out,
                         "gates: sysmem_threshold 50, swapcache_high_wmark 10, "
                         "swapcache_low_wmark 6, task 1: swap_threshold 10g, task "
                         "1: dram_percent 40"))
        << shown.out;

    // A second task joins the running project, which keeps running.
    auto second = etmem({"obj", "add", "-f", taskFile("background2")});
    ASSERT_TRUE(second.status.success()) << show(second);
    EXPECT_TRUE(contains(config("test"), "name: background2"));
    EXPECT_EQ(projectState("test"), "running");

    // The same task twice is refused with its line, and changes nothing.
    auto again = etmem({"obj", "add", "-f", taskFile("background2")});
    EXPECT_NE(again.status.code, 0) << show(again);
    EXPECT_EQ(again.errLines().size(), 1u) << show(again);
    EXPECT_TRUE(contains(again.err, "line 4")) << again.err;

    auto stopped = etmem({"project", "stop", "-n", "test"});
    ASSERT_TRUE(stopped.status.success()) << show(stopped);
    EXPECT_TRUE(waitForState("test", "stopped"));

    auto removedTask = etmem({"obj", "del", "-f", taskFile("background2")});
    ASSERT_TRUE(removedTask.status.success()) << show(removedTask);
    EXPECT_FALSE(contains(config("test"), "background2"));
    EXPECT_TRUE(contains(config("test"), "background1"));

    auto removed = etmem({"obj", "del", "-f", projectFile()});
    ASSERT_TRUE(removed.status.success()) << show(removed);
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Etmem11, WholeFileAndDirectCalls) {
    const std::string whole =
        "[project]\nname=whole\nloop=1\ninterval=1\nsleep=1\n\n[engine]\nname=slide\n"
        "project=whole\n\n[task]\nproject=whole\nengine=slide\nname=t\ntype=pid\nvalue=" +
        std::to_string(target_.pid()) + "\nT=1\n";
    sdbus::ObjectPath path;
    manager()
        ->callMethod("AddObjects")
        .onInterface("org.openeuler.Etmem.Manager")
        .withArguments(whole)
        .storeResultsTo(path);
    EXPECT_EQ(std::string(path), etmem::bus::projectObjectPath("whole"));
    auto bad = outcomeOf([&] {
        manager()
            ->callMethod("AddObjects")
            .onInterface("org.openeuler.Etmem.Manager")
            .withArguments(std::string("[task]\nproject=whole\nengine=slide\nname=u\n"));
    });
    EXPECT_EQ(bad.name, "org.openeuler.Etmem.Error.InvalidConfig") << bad.message;
    EXPECT_TRUE(contains(bad.message, "'T' is missing")) << bad.message;
    auto missing = outcomeOf([&] {
        manager()
            ->callMethod("RemoveObjects")
            .onInterface("org.openeuler.Etmem.Manager")
            .withArguments(std::string(
                "[task]\nproject=nope\nengine=slide\nname=t\ntype=pid\nvalue=1\nT=1\n"));
    });
    EXPECT_EQ(missing.name, "org.openeuler.Etmem.Error.NoSuchProject") << missing.message;
    manager()
        ->callMethod("RemoveObjects")
        .onInterface("org.openeuler.Etmem.Manager")
        .withArguments(whole);
    EXPECT_TRUE(listProjects().empty());
}

TEST_F(Etmem11, DaemonAcceptsModeSystemctl) {
    auto second = startDaemon("m", {"-s", "etmemd_socket", "-m"});
    ASSERT_TRUE(second->waitReady()) << second->log();
    EXPECT_TRUE(etmem({"project", "show", "-s", "etmemd_socket"}).status.success());
}

}  // namespace
}  // namespace etmem::test
