// Names of enum values, each enum's kept in one table beside it.
//
// A table lists each value once with its stable name: `{Value, "name"}`. name_of() returns
// the name of a value, or `fallback` for a value the table lacks (an integer cast from bad
// input).
//
// Thread-safety: pure functions over constant tables.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace freezeframe {

template <typename Enum>
using EnumName = std::pair<Enum, std::string_view>;

template <typename Enum, std::size_t N>
constexpr std::string_view name_of(const EnumName<Enum> (&table)[N], Enum value,
                                   std::string_view fallback = "unknown") noexcept {
  for (const auto& [entry, name] : table) {
    if (entry == value)
      return name;
  }
  return fallback;
}

}  // namespace freezeframe
