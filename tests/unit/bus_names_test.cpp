// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/contract/bus_names.hpp"
#include "etmem/contract/error_names.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace etmem::bus {
namespace {

// A bus name is elements of [A-Za-z0-9_-], none starting with a digit, at most 255 bytes.
bool isValidBusName(const std::string& name) {
    if (name.empty() || name.size() > 255) return false;
    bool elementStart = true;
    int elements = 1;
    for (char c : name) {
        if (c == '.') {
            if (elementStart) return false;
            elementStart = true;
            ++elements;
            continue;
        }
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !digit) return false;
        if (elementStart && digit) return false;
        elementStart = false;
    }
    return !elementStart && elements >= 2;
}

TEST(BusNames, DefaultInstanceUsesWellKnownName) {
    EXPECT_EQ(busNameForInstance(""), "org.openeuler.Etmem");
}

TEST(BusNames, InstanceNameIsEscapedIntoValidBusName) {
    EXPECT_EQ(busNameForInstance("dt_socket"), "org.openeuler.Etmem.i_dt_5fsocket");
    for (std::string name : {"a", "0start", "with space", "dots.and-dashes", "ünïcode", "@x"}) {
        EXPECT_TRUE(isValidBusName(busNameForInstance(name))) << name;
    }
}

TEST(BusNames, LongestInstanceNamesStayValidAndDistinct) {
    std::set<std::string> seen;
    for (char fill : {'a', '.', '~'}) {
        for (char last : {'x', 'y'}) {
            std::string name(kMaxInstanceNameLength - 1, fill);
            name += last;
            std::string bus = busNameForInstance(name);
            EXPECT_TRUE(isValidBusName(bus)) << bus;
            EXPECT_LE(bus.size(), 255u);
            EXPECT_TRUE(seen.insert(bus).second) << "collision for " << name;
        }
    }
}

TEST(BusNames, InstanceNameChecks) {
    EXPECT_EQ(checkInstanceName("dt_socket"), "");
    EXPECT_NE(checkInstanceName(""), "");
    EXPECT_EQ(checkInstanceName(std::string(107, 'a')), "");
    EXPECT_NE(checkInstanceName(std::string(108, 'a')).find("at most 107"), std::string::npos);
    EXPECT_NE(checkInstanceName("bad\nname"), "");
}

TEST(BusNames, ProjectNameChecks) {
    EXPECT_EQ(checkProjectName("test"), "");
    EXPECT_NE(checkProjectName(""), "");
    EXPECT_NE(checkProjectName("a/b"), "");
    EXPECT_NE(checkProjectName(std::string(256, 'p')), "");
    EXPECT_NE(checkProjectName(std::string("a\0b", 3)), "");
}

// Limits count bytes, and the messages say so: "ü" is one character but two bytes.
TEST(BusNames, LengthMessagesCountBytes) {
    std::string twoByteChars;
    for (int i = 0; i < 128; ++i) twoByteChars += "\xc3\xbc";  // 128 x "ü": 256 bytes
    EXPECT_EQ(checkProjectName(twoByteChars),
              "project name is 256 bytes long; at most 255 bytes are allowed");
}

// A name the bus could not carry is refused, whoever offers it (a saved file, say).
TEST(BusNames, NamesMustBeUtf8) {
    EXPECT_EQ(checkProjectName("caf\xc3\xa9"), "");
    EXPECT_EQ(checkProjectName("caf\xe9"),
              "project name is not UTF-8 text (byte 0xe9 at offset 3)");
    EXPECT_NE(checkInstanceName("\xff"), "");
}

TEST(ObjectPaths, EscapeLikeSdBusPathEncode) {
    EXPECT_EQ(escapeLabel(""), "_");
    EXPECT_EQ(escapeLabel("abcXYZ019"), "abcXYZ019");
    EXPECT_EQ(escapeLabel("my-project.1"), "my_2dproject_2e1");
    EXPECT_EQ(escapeLabel("_"), "_5f");
    EXPECT_EQ(escapeLabel("\xff"), "_ff");
    EXPECT_EQ(projectObjectPath("test"), "/org/openeuler/Etmem/project/test");
}

TEST(ObjectPaths, EscapeRoundTrips) {
    for (std::string name : {"", "_", "a_b", "with space", "x/y", "\x01\x7f\xfe", "_5f"}) {
        EXPECT_EQ(unescapeLabel(escapeLabel(name)), name) << name;
    }
}

TEST(ObjectPaths, DistinctNamesGiveDistinctPaths) {
    EXPECT_NE(projectObjectPath("a-b"), projectObjectPath("a_b"));
    EXPECT_NE(projectObjectPath("a_2db"), projectObjectPath("a-b"));
}

TEST(BoundedLabel, ShortLabelsAreJustEscaped) {
    EXPECT_EQ(boundedLabel("abc", 40), "abc");
    EXPECT_EQ(boundedLabel("a.b", 40), "a_2eb");
}

TEST(BoundedLabel, LongLabelsFitAndStayDistinct) {
    std::set<std::string> seen;
    for (std::size_t length : {84u, 85u, 100u, 255u}) {
        for (char fill : {'.', 'L'}) {
            std::string label(length, fill);
            std::string bounded = boundedLabel(label, 246);
            EXPECT_LE(bounded.size(), 246u);
            EXPECT_TRUE(seen.insert(bounded).second) << label;
            if (escapeLabel(label).size() <= 246) {
                EXPECT_EQ(bounded, escapeLabel(label));
                continue;
            }
            // No half escape sequence before the hash.
            auto hash = bounded.rfind("_h");
            ASSERT_NE(hash, std::string::npos);
            std::string head = bounded.substr(0, hash);
            for (std::size_t i = 0; i < head.size(); ++i)
                if (head[i] == '_') {
                    EXPECT_LE(i + 3, head.size()) << bounded;
                }
        }
    }
}

TEST(ErrorNames, EveryKindRoundTripsThroughItsName) {
    for (ErrorKind kind :
         {ErrorKind::ProjectExists, ErrorKind::NoSuchProject, ErrorKind::AlreadyRunning,
          ErrorKind::NotRunning, ErrorKind::InvalidConfig, ErrorKind::AccessDenied,
          ErrorKind::InvalidArgument, ErrorKind::Failed}) {
        std::string name = errorName(kind);
        EXPECT_TRUE(name.starts_with("org.openeuler.Etmem.Error.")) << name;
        EXPECT_EQ(errorKindOf(name), kind) << name;
    }
    EXPECT_EQ(errorName(ErrorKind::NoSuchProject), "org.openeuler.Etmem.Error.NoSuchProject");
    EXPECT_EQ(errorKindOf("org.openeuler.Etmem.Error.Bogus"), std::nullopt);
    EXPECT_EQ(errorKindOf("org.freedesktop.DBus.Error.Failed"), std::nullopt);
}

}  // namespace
}  // namespace etmem::bus
