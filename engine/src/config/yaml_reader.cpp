// SPDX-License-Identifier: MulanPSL-2.0
#include "config/yaml_reader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_text.hpp"
#include "etmem/config.hpp"

// The tree is built from yaml-cpp's parser events rather than with YAML::Load/LoadAll:
// - LoadAll loops forever, allocating, on text such as "," (yaml-cpp issue #1040, fixed only
//   after 0.7 by PR #1319); here at most two documents are ever asked for;
// - every value gets its own mark, and duplicate keys are kept for the validator to reject;
// - aliases are refused outright, so no "billion laughs" expansion can happen.

namespace etmem::config {
namespace {

// A real config is 4 levels deep and a few dozen values.
constexpr std::size_t kMaxDepth = 32;
constexpr int kMaxNodes = 10000;

Position positionOf(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
    return {mark.line + 1, mark.column + 1};
}

[[noreturn]] void fail(Position at, const std::string& message) {
    throw ConfigError(at.line, at.column, "", "", message);
}

// Ignores every event but where a document starts: for checking that text is YAML at all,
// and for finding a second document.
class IgnoreEvents : public YAML::EventHandler {
  public:
    Position documentAt;

    void OnDocumentStart(const YAML::Mark& mark) override { documentAt = positionOf(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// Builds the ConfigNode tree of one document from parser events, with an explicit stack.
class TreeBuilder : public YAML::EventHandler {
  public:
    std::optional<ConfigNode> takeRoot() { return std::move(root_); }

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
        // A missing value ("loop:") is marked at the next token; point at its key instead.
        const bool isMapValue = !stack_.empty() && stack_.back().key.has_value();
        add(ConfigNode{ConfigNode::Kind::Null,
                       isMapValue ? stack_.back().key->keyAt : positionOf(mark),
                       {},
                       {},
                       {}});
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        fail(positionOf(mark), "aliases (*name) are not allowed in a config; write the value");
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string& value) override {
        add(ConfigNode{ConfigNode::Kind::Scalar, positionOf(mark), value, {}, {}});
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        open(ConfigNode::Kind::Sequence, mark);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        open(ConfigNode::Kind::Map, mark);
    }
    void OnMapEnd() override { close(); }

  private:
    struct Frame {
        ConfigNode node;
        std::optional<MapEntry> key;  // a map's key waiting for its value
    };

    void count(Position at) {
        if (++nodes_ > kMaxNodes) {
            fail(at, fmt::format("the config has more than {} values; a config is a few short "
                                 "sections",
                                 kMaxNodes));
        }
    }

    void open(ConfigNode::Kind kind, const YAML::Mark& mark) {
        const Position at = positionOf(mark);
        if (stack_.size() >= kMaxDepth) {
            fail(at, fmt::format("the config is nested more than {} levels deep", kMaxDepth));
        }
        count(at);
        stack_.push_back(Frame{ConfigNode{kind, at, {}, {}, {}}, std::nullopt});
    }

    void close() {
        ConfigNode node = std::move(stack_.back().node);
        stack_.pop_back();
        add(std::move(node));
    }

    void add(ConfigNode node) {
        if (node.kind == ConfigNode::Kind::Scalar || node.kind == ConfigNode::Kind::Null) {
            count(node.at);
        }
        if (stack_.empty()) {
            root_ = std::move(node);
            return;
        }
        Frame& top = stack_.back();
        if (top.node.kind == ConfigNode::Kind::Sequence) {
            top.node.items.push_back(std::move(node));
        } else if (top.key) {
            top.key->value = std::move(node);
            top.node.entries.push_back(std::move(*top.key));
            top.key.reset();
        } else {
            if (node.kind != ConfigNode::Kind::Scalar) {
                fail(node.at,
                     "a key must be a plain word like 'loop', not a list, a section "
                     "or nothing");
            }
            top.key = MapEntry{std::move(node.scalar), node.at, {}};
        }
    }

    std::vector<Frame> stack_;
    std::optional<ConfigNode> root_;
    int nodes_ = 0;
};

// Feeds the first document to handler; returns where a second document starts, if one
// does. yaml-cpp's exceptions become a positioned ConfigError.
std::optional<Position> parseFirstDocument(std::string_view text, YAML::EventHandler& handler) {
    std::istringstream stream{std::string(text)};
    try {
        YAML::Parser parser(stream);
        parser.HandleNextDocument(handler);
        IgnoreEvents rest;
        if (!parser.HandleNextDocument(rest)) return std::nullopt;
        return rest.documentAt;
    } catch (const YAML::Exception& error) {
        const Position at = positionOf(error.mark);
        fail(at, fmt::format("not valid YAML ({}), nor etmem 1.0's 'key : value' form", error.msg));
    }
}

}  // namespace

ConfigNode readYamlTree(std::string_view text) {
    TreeBuilder builder;
    const std::optional<Position> secondDocument = parseFirstDocument(text, builder);
    std::optional<ConfigNode> root = builder.takeRoot();
    if (!root || root->kind == ConfigNode::Kind::Null) {
        // checkConfigText saw content, so the text is not empty: it just holds no config
        // (yaml-cpp reads a lone ',' as nothing at all). Point at what is there.
        std::size_t first = 0;
        while (first < text.size() &&
               std::string_view(" \t\r\n").find(text[first]) != std::string_view::npos)
            ++first;
        const std::string_view line = text.substr(first, text.find('\n', first) - first);
        fail(positionAt(text, first),
             fmt::format("'{}' is not a config; a config is an 'options:' section with loop, "
                         "interval, sleep and policies",
                         displayText(line)));
    }
    if (secondDocument) {
        fail(*secondDocument,
             "a second YAML document starts here (after a '---' line, or text after the "
             "config's end); a config is one document");
    }
    if (root->kind != ConfigNode::Kind::Map) {
        throw ConfigError(root->at.line, root->at.column, "", displayText(root->scalar),
                          "a config must start with an 'options:' section");
    }
    return std::move(*root);
}

bool parsesAsYaml(std::string_view text) {
    IgnoreEvents ignore;
    try {
        parseFirstDocument(text, ignore);
        return true;
    } catch (const ConfigError&) {
        return false;
    }
}

}  // namespace etmem::config
