// A small enum's spelling on the command line, in one table per enum: name of a value, every name
// (for CLI11's check and help), and the value of a name with a one-line error naming the choices.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace fvlm {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

template <class E>
std::string_view enum_name(std::span<const EnumName<E>> table, E v) {
  for (const EnumName<E>& n : table)
    if (n.value == v) return n.name;
  return "?";
}

template <class E>
std::vector<std::string> enum_names(std::span<const EnumName<E>> table) {
  std::vector<std::string> v;
  for (const EnumName<E>& n : table) v.emplace_back(n.name);
  return v;
}

// Error{kBadArgs} "<what> must be auto, f32 or bf16, got 'x'" for a name not in the table.
template <class E>
E parse_enum(std::span<const EnumName<E>> table, std::string_view s, std::string_view what) {
  for (const EnumName<E>& n : table)
    if (n.name == s) return n.value;
  std::string choices;
  for (size_t i = 0; i < table.size(); ++i)
    choices += std::string(i == 0 ? "" : i + 1 == table.size() ? " or " : ", ") + std::string(table[i].name);
  throw Error(Errc::kBadArgs, std::string(what) + " must be " + choices + ", got '" + std::string(s) + "'");
}

}  // namespace fvlm
