// Typed reads of a request's JSON fields. Every failure is an Error{kBadArgs} whose detail names the
// field ({"param": "max_tokens"}): the server's error object reports it as OpenAI's "param".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace fvlm::cli::serve {

[[noreturn]] void bad_field(std::string_view param, const std::string& message);

// Each returns nullopt when the field is absent or null, and throws when it is there but of the
// wrong type or out of [lo, hi].
std::optional<int64_t> int_field(const nlohmann::json& j, std::string_view key, int64_t lo, int64_t hi);
std::optional<double> number_field(const nlohmann::json& j, std::string_view key, double lo, double hi);
std::optional<bool> bool_field(const nlohmann::json& j, std::string_view key);
std::optional<std::string> string_field(const nlohmann::json& j, std::string_view key);

// The body as a JSON object: malformed JSON or another type throws Error{kBadArgs}.
nlohmann::json parse_object(std::string_view body);

}  // namespace fvlm::cli::serve
