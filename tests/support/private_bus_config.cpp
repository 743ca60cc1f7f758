// SPDX-License-Identifier: MulanPSL-2.0
#include "private_bus_config.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace etmem::test {
namespace {

// Replaces every occurrence; a placeholder missing from the template is an error, so a
// renamed placeholder cannot silently leave the bus without its listen address or policy.
void substitute(std::string& text, std::string_view placeholder, const std::string& value) {
    std::size_t at = text.find(placeholder);
    if (at == std::string::npos)
        throw std::runtime_error("bus config template lacks " + std::string(placeholder));
    for (; at != std::string::npos; at = text.find(placeholder, at + value.size()))
        text.replace(at, placeholder.size(), value);
}

}  // namespace

std::string privateSystemBusConfig(const std::filesystem::path& socketPath,
                                   const std::filesystem::path& policyDir,
                                   const std::string& extraElements) {
    std::ifstream file(ETMEM_BUS_CONF_TEMPLATE);
    if (!file) throw std::runtime_error("cannot read " + std::string(ETMEM_BUS_CONF_TEMPLATE));
    std::ostringstream content;
    content << file.rdbuf();
    std::string config = content.str();
    substitute(config, "@LISTEN@", "unix:path=" + socketPath.string());
    substitute(config, "@POLICY_DIR@", policyDir.string());
    substitute(config, "<!--@EXTRA@-->", extraElements);
    return config;
}

}  // namespace etmem::test
