// The CLI's output contract (shared/design.md): JSON objects on stdout, one per line; logs on
// stderr; errors as {"ok":false,"error":{"code","message"}} with the documented exit codes.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitSomeFailed = 1;  // a batch finished with some items failed

// Writes one JSON line to stdout and flushes (so pipelines see results as they come).
void emit(const nlohmann::ordered_json& j);
// The error object for `e`, with "image" when the failure belongs to one input.
nlohmann::ordered_json error_json(Errc code, const std::string& message, const nlohmann::json& detail = {},
                                  const std::string& image = "");
// Emits the error object, logs it to stderr, returns the exit code for `code`.
int emit_error(Errc code, const std::string& message, const nlohmann::json& detail = {});

// Milliseconds rounded to 0.1 for timing fields.
double round_ms(double ms);
// Other figures of a JSON line, rounded to 0.1 / 0.001.
double round1(double v);
double round3(double v);

}  // namespace fvlm::cli
