#include "cli/output.h"

#include <cmath>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace fvlm::cli {

void emit(const nlohmann::ordered_json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

nlohmann::ordered_json error_json(Errc code, const std::string& message, const nlohmann::json& detail,
                                  const std::string& image) {
  nlohmann::ordered_json err = {{"code", std::string(errc_name(code))}, {"message", message}};
  if (!detail.is_null() && !detail.empty()) err["detail"] = detail;
  nlohmann::ordered_json j = {{"ok", false}};
  if (!image.empty()) j["image"] = image;
  j["error"] = err;
  return j;
}

int emit_error(Errc code, const std::string& message, const nlohmann::json& detail) {
  spdlog::error("{}: {}", errc_name(code), message);
  emit(error_json(code, message, detail));
  return errc_exit_code(code);
}

double round1(double v) { return std::round(v * 10.0) / 10.0; }
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }
double round_ms(double ms) { return round1(ms); }

}  // namespace fvlm::cli
