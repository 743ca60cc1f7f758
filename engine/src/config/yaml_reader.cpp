#include "config/yaml_reader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "config/config_text.hpp"
#include "etmem/config.hpp"

namespace etmem::config {
namespace {

// A real config is 4 levels deep and a few dozen nodes. The caps stop aliases that expand
// exponentially ("billion laughs") or refer to themselves from exhausting memory or stack.
constexpr int kMaxDepth = 32;
constexpr int kMaxNodes = 10000;

Position positionOf(const YAML::Mark& mark, Position fallback) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return fallback;
    return {mark.line + 1, mark.column + 1};
}

class YamlTreeBuilder {
  public:
    ConfigNode convert(const YAML::Node& node, Position fallback, int depth) {
        // yaml-cpp marks a missing value ("loop:") at the next token; point at its key instead.
        const Position at = node.IsNull() ? fallback : positionOf(node.Mark(), fallback);
        if (depth > kMaxDepth) fail(at, fmt::format("nested more than {} levels deep", kMaxDepth));
        if (++nodes_ > kMaxNodes) fail(at, fmt::format("more than {} values", kMaxNodes));
        ConfigNode result;
        result.at = at;
        switch (node.Type()) {
            case YAML::NodeType::Scalar:
                result.kind = ConfigNode::Kind::Scalar;
                result.scalar = node.Scalar();
                break;
            case YAML::NodeType::Sequence:
                result.kind = ConfigNode::Kind::Sequence;
                for (const YAML::Node& item : node)
                    result.items.push_back(convert(item, at, depth + 1));
                break;
            case YAML::NodeType::Map:
                result.kind = ConfigNode::Kind::Map;
                for (const auto& pair : node)
                    result.entries.push_back(convertEntry(pair, at, depth));
                break;
            default:
                result.kind = ConfigNode::Kind::Null;
                break;
        }
        return result;
    }

  private:
    [[noreturn]] static void fail(Position at, const std::string& what) {
        throw ConfigError(at.line, at.column, "", "",
                          "the config is " + what + "; a config has a few short sections");
    }

    MapEntry convertEntry(const std::pair<YAML::Node, YAML::Node>& pair, Position fallback,
                          int depth) {
        const Position keyAt = positionOf(pair.first.Mark(), fallback);
        if (!pair.first.IsScalar()) {
            throw ConfigError(keyAt.line, keyAt.column, "", "",
                              "a key must be a plain word like 'loop', not a list or section");
        }
        return MapEntry{pair.first.Scalar(), keyAt, convert(pair.second, keyAt, depth + 1)};
    }

    int nodes_ = 0;
};

std::vector<YAML::Node> loadDocuments(std::string_view text) {
    try {
        return YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& error) {
        const Position at = positionOf(error.mark, {});
        throw ConfigError(
            at.line, at.column, "", "",
            fmt::format("not valid YAML ({}), nor etmem 1.0's 'key : value' form", error.msg));
    }
}

}  // namespace

ConfigNode readYamlTree(std::string_view text) {
    const std::vector<YAML::Node> documents = loadDocuments(text);
    if (documents.size() > 1) {
        const Position at = positionOf(documents[1].Mark(), {});
        throw ConfigError(at.line, at.column, "", "",
                          "a second YAML document starts here; a config is one document");
    }
    if (documents.empty() || documents[0].IsNull()) {
        throw ConfigError(0, 0, "", "", "the config is empty; it needs an 'options:' section");
    }
    ConfigNode root = YamlTreeBuilder().convert(documents[0], Position{1, 1}, 0);
    if (root.kind != ConfigNode::Kind::Map) {
        throw ConfigError(root.at.line, root.at.column, "", displayText(root.scalar),
                          "a config must start with an 'options:' section");
    }
    return root;
}

bool parsesAsYaml(std::string_view text) {
    try {
        YAML::LoadAll(std::string(text));
        return true;
    } catch (const YAML::Exception&) {
        return false;
    }
}

}  // namespace etmem::config
