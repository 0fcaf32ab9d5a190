// POST /v1/fastvlm/{describe,count,ocr,ask}: the CLI's tasks over HTTP. The fields are the CLI's
// arguments and options under their JSON names (question, what, max_tokens, temperature, top_k,
// top_p, seed, repetition_penalty, system, ignore_eos, image_mode, resolution); the image is a
// multipart file part or, in a JSON body, "image": base64 or a data: URI. Pure: tests/unit checks it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/pipeline.h"

namespace fvlm::cli::serve {

struct TaskCall {
  std::string question;                       // ask
  std::string what;                           // count
  std::string image_name = "upload";          // "image" of the result object ("image_name" field)
  std::optional<std::vector<uint8_t>> image;  // from a JSON body's "image" (multipart: the route's)
  GenerateOptions gen;
  ImageOptions img;
};

// `task` is ask | describe | count | ocr (the route checked it). `fields`: the JSON body, or the
// multipart form's text fields (see multipart_fields). Throws Error{kBadArgs} naming the field.
TaskCall parse_task_call(std::string_view task, const nlohmann::json& fields, const GenerateOptions& defaults,
                         const ImageOptions& image_defaults);

// A multipart form's text fields as JSON: the numeric and true/false fields parsed, the rest kept
// as strings (a question "42" stays a string). Throws Error{kBadArgs} for a number that is not one.
nlohmann::json multipart_fields(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace fvlm::cli::serve
