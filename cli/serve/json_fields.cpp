#include "cli/serve/json_fields.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm::cli::serve {
namespace {

const nlohmann::json* find(const nlohmann::json& j, std::string_view key) {
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// What was sent, for a message: the value when it is a scalar, else its type (a nested value may be
// megabytes deep, and dump() recurses).
std::string shown(const nlohmann::json& v) {
  return v.is_primitive() ? v.dump().substr(0, 64) : std::string("a JSON ") + v.type_name();
}

}  // namespace

void bad_field(std::string_view param, const std::string& message) {
  throw Error(Errc::kBadArgs, message, {{"param", std::string(param)}});
}

std::optional<int64_t> int_field(const nlohmann::json& j, std::string_view key, int64_t lo, int64_t hi) {
  const nlohmann::json* v = find(j, key);
  if (!v) return std::nullopt;
  // 12.0 is an integer to JSON's eyes (JavaScript has one number type); 12.5 is not.
  int64_t n = 0;
  if (v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))) {
    n = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::floor(v->get<double>()) == *v &&
             std::fabs(v->get<double>()) < 9e18) {
    n = int64_t(v->get<double>());
  } else {
    bad_field(key, fmt::format("'{}' must be an integer, got {}", key, shown(*v)));
  }
  if (n < lo || n > hi) bad_field(key, fmt::format("'{}' must be from {} to {}, got {}", key, lo, hi, n));
  return n;
}

std::optional<double> number_field(const nlohmann::json& j, std::string_view key, double lo, double hi) {
  const nlohmann::json* v = find(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad_field(key, fmt::format("'{}' must be a number, got {}", key, shown(*v)));
  const double x = v->get<double>();
  if (!(x >= lo && x <= hi))
    bad_field(key, fmt::format("'{}' must be from {} to {}, got {}", key, lo, hi, x));
  return x;
}

std::optional<bool> bool_field(const nlohmann::json& j, std::string_view key) {
  const nlohmann::json* v = find(j, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) bad_field(key, fmt::format("'{}' must be true or false, got {}", key, shown(*v)));
  return v->get<bool>();
}

std::optional<std::string> string_field(const nlohmann::json& j, std::string_view key) {
  const nlohmann::json* v = find(j, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) bad_field(key, fmt::format("'{}' must be a string, got {}", key, shown(*v)));
  return v->get<std::string>();
}

nlohmann::json parse_object(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(Errc::kBadArgs, "the request body is not valid JSON");
  if (!j.is_object()) throw Error(Errc::kBadArgs, "the request body must be a JSON object");
  return j;
}

}  // namespace fvlm::cli::serve
