// SPDX-License-Identifier: MulanPSL-2.0
// etmem 1.1's damon sample through a real etmemd on a private bus: `etmem obj add` takes it
// unchanged, the project's normalized Config writes the damon engine's keys, and TaskSettings
// shows its scheme, defaults included. The project is not started: the host's DAMON is not
// the tests' to touch (tests/engine-vm runs the engine in a guest).
#include "bus_fixture.hpp"

namespace etmem::test {
namespace {

using Dictionary = std::map<std::string, sdbus::Variant>;

// etmem 1.1's damon sample (tests/data/config/etmem-1.1/damon_conf.yaml).
constexpr const char* kSample =
    "[project]\nname=test\nscan_type=region\nloop=1\ninterval=1\nsleep=1\n"
    "sample_interval=5000\naggr_interval=100000\nupdate_interval=1000000\n"
    "min_nr_regions=10\nmax_nr_regions=1000\n\n"
    "[engine]\nname=damon\nproject=test\nmin_size=0\nmax_size=1024\nmin_acc=0\nmax_acc=0\n"
    "min_age=0\nmax_age=10\naction=pageout\n\n"
    "[task]\nproject=test\nengine=damon\nname=background_damon\ntype=name\nvalue=mysql\n";

class DamonEngineBus : public BusTest {
  protected:
    template <typename T>
    T projectProperty(const std::string& name, const std::string& property) {
        return project(name)
            ->getProperty(property)
            .onInterface(etmem::bus::kProjectInterface.data())
            .template get<T>();
    }
};

TEST_F(DamonEngineBus, Etmem11SampleLoadsThroughObjAdd) {
    auto added = etmem({"obj", "add", "-f", writeConfig("damon_conf", kSample)});
    ASSERT_TRUE(added.status.success()) << added.err;
    const auto normalized = projectProperty<std::string>("test", "Config");
    for (const char* key : {"engine: damon", "max_size: 1024", "max_acc: 0", "max_age: 10",
                            "action: pageout", "aggr_interval: 100000"})
        EXPECT_NE(normalized.find(key), std::string::npos) << key << "\n" << normalized;
    EXPECT_EQ(normalized.find("scanner:"), std::string::npos) << normalized;

    auto settings = projectProperty<std::vector<Dictionary>>("test", "TaskSettings");
    ASSERT_EQ(settings.size(), 1u);
    EXPECT_EQ(settings[0].at("engine").get<std::string>(), "damon");
    EXPECT_EQ(settings[0].at("action").get<std::string>(), "pageout");
    EXPECT_EQ(settings[0].at("max_size").get<std::uint64_t>(), 1024u);
    EXPECT_EQ(settings[0].at("max_age").get<std::uint64_t>(), 10u);
    EXPECT_EQ(settings[0].at("min_age").get<std::uint64_t>(), 0u);
}

TEST_F(DamonEngineBus, ABadSchemeValueIsRefusedWithItsKeyAndRange) {
    std::string bad = kSample;
    bad.replace(bad.find("min_age=0"), 9, "min_age=11");
    auto added = etmem({"obj", "add", "-f", writeConfig("bad_damon", bad)});
    EXPECT_NE(added.status.code, 0);
    EXPECT_NE(added.err.find("min_age"), std::string::npos) << added.err;
    EXPECT_NE(added.err.find("0..10"), std::string::npos) << added.err;
    EXPECT_TRUE(listProjects().empty());
}

}  // namespace
}  // namespace etmem::test
