#include "cli/serve/task_request.h"

#include <climits>

#include <fmt/format.h>

#include "cli/serve/data_uri.h"
#include "cli/serve/json_fields.h"
#include "core/error.h"

namespace fvlm::cli::serve {
namespace {

constexpr std::string_view kScalarFields[] = {"max_tokens", "temperature",        "top_k",      "top_p",
                                              "seed",       "repetition_penalty", "ignore_eos", "resolution"};

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

}  // namespace

TaskCall parse_task_call(std::string_view task, const nlohmann::json& f, const GenerateOptions& defaults,
                         const ImageOptions& image_defaults) {
  if (!f.is_object()) throw Error(Errc::kBadArgs, "the request body must be a JSON object");
  TaskCall c;
  c.gen = defaults;
  c.img = image_defaults;
  if (task == "ask") {
    c.question = string_field(f, "question").value_or("");
    if (is_blank(c.question)) bad_field("question", "'question' is required for ask");
  }
  if (task == "count") {
    c.what = string_field(f, "what").value_or("");
    if (is_blank(c.what))
      bad_field("what", "'what' is required for count: say what to count, e.g. \"bottles\"");
  }
  if (const auto name = string_field(f, "image_name")) c.image_name = name->substr(0, 256);
  if (const auto img = string_field(f, "image"))
    c.image = img->rfind("data:", 0) == 0 ? data_uri_bytes(*img, "image") : base64_decode(*img, "image");
  GenerateOptions& g = c.gen;
  g.max_tokens = int(int_field(f, "max_tokens", 1, INT_MAX).value_or(g.max_tokens));
  g.temperature = float(number_field(f, "temperature", 0.0, 100.0).value_or(g.temperature));
  g.top_k = int(int_field(f, "top_k", 0, INT_MAX).value_or(g.top_k));
  if (const auto p = number_field(f, "top_p", 0.0, 1.0)) {
    if (*p <= 0.0) bad_field("top_p", "'top_p' must be above 0 (0 would keep no token)");
    g.top_p = float(*p);
  }
  if (const auto s = int_field(f, "seed", INT64_MIN, INT64_MAX)) g.seed = uint64_t(*s);
  g.repetition_penalty =
      float(number_field(f, "repetition_penalty", 0.01, 100.0).value_or(g.repetition_penalty));
  if (const auto s = string_field(f, "system")) g.system = *s;
  g.ignore_eos = bool_field(f, "ignore_eos").value_or(g.ignore_eos);
  if (const auto mode = string_field(f, "image_mode")) {
    if (*mode != "pad" && *mode != "crop" && *mode != "tiles")
      bad_field("image_mode", "'image_mode' must be pad, crop or tiles");
    c.img.mode = *mode == "crop" ? ImageMode::kCrop : *mode == "tiles" ? ImageMode::kTiles : ImageMode::kPad;
    c.img.mode_from_config = false;
  }
  if (const auto r = int_field(f, "resolution", 0, 4096)) {
    if (*r != 0 && (*r < 64 || *r % 64 != 0))
      bad_field("resolution", "'resolution' must be a multiple of 64 from 64 to 4096 (0: the model's)");
    c.img.resolution = int(*r);
  }
  return c;
}

nlohmann::json multipart_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : fields) {
    bool scalar = false;
    for (std::string_view s : kScalarFields) scalar |= name == s;
    if (!scalar) {
      j[name] = value;
      continue;
    }
    nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
    if (v.is_discarded() || !v.is_primitive() || v.is_string())
      bad_field(name,
                fmt::format("'{}' must be a number{}", name, name == "ignore_eos" ? " or true/false" : ""));
    j[name] = v;
  }
  return j;
}

}  // namespace fvlm::cli::serve
