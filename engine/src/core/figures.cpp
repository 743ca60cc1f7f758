// SPDX-License-Identifier: MulanPSL-2.0
#include "etmem/figures.hpp"

#include <algorithm>

namespace etmem {
namespace {

void combineValue(Figure& into, const Figure& from) {
    if (into.value.index() != from.value.index()) return;  // one name, two types: keep the first
    switch (into.combine) {
        case Combine::Sum:
            if (auto* count = std::get_if<std::uint64_t>(&into.value))
                *count += std::get<std::uint64_t>(from.value);
            else if (auto* real = std::get_if<double>(&into.value))
                *real += std::get<double>(from.value);
            return;
        case Combine::Max:
            into.value = std::max(into.value, from.value);
            return;
        case Combine::Join:
            if (auto* text = std::get_if<std::string>(&into.value)) {
                const auto& more = std::get<std::string>(from.value);
                if (more.empty() || text->find(more) != std::string::npos) return;
                *text = text->empty() ? more : *text + ", " + more;
            }
            return;
    }
}

}  // namespace

std::string totalName(std::string_view name) {
    return "total_" + std::string(name);
}

void FigureList::set(Figure figure) {
    for (auto& existing : figures_) {
        if (existing.name == figure.name) {
            existing = std::move(figure);
            return;
        }
    }
    figures_.push_back(std::move(figure));
}

void FigureList::setCount(std::string_view name, std::uint64_t value, bool accumulates) {
    set(Figure{std::string(name), value, Combine::Sum, accumulates});
}

const Figure* FigureList::find(std::string_view name) const {
    auto it = std::find_if(figures_.begin(), figures_.end(),
                           [&](const Figure& figure) { return figure.name == name; });
    return it == figures_.end() ? nullptr : &*it;
}

std::uint64_t FigureList::count(std::string_view name) const {
    const Figure* figure = find(name);
    if (figure == nullptr) return 0;
    const auto* value = std::get_if<std::uint64_t>(&figure->value);
    return value == nullptr ? 0 : *value;
}

void FigureList::combine(const FigureList& other) {
    for (const auto& figure : other) {
        auto it = std::find_if(figures_.begin(), figures_.end(),
                               [&](const Figure& mine) { return mine.name == figure.name; });
        if (it == figures_.end())
            figures_.push_back(figure);
        else
            combineValue(*it, figure);
    }
}

void FigureList::accumulate(const FigureList& cycle) {
    for (const auto& figure : cycle) {
        if (!figure.accumulates || !std::holds_alternative<std::uint64_t>(figure.value)) continue;
        FigureList one;
        one.setCount(totalName(figure.name), std::get<std::uint64_t>(figure.value));
        combine(one);
    }
}

}  // namespace etmem

namespace etmem::figure {

std::string idleBytesName(unsigned ageCycles) {
    return std::string(kIdleBytesPrefix) + std::to_string(ageCycles);
}

}  // namespace etmem::figure
