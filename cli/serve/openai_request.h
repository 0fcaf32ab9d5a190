// POST /v1/chat/completions as OpenAI defines it, the vision part: the JSON body checked field by
// field and turned into the engine's Request (image decoded, conversation, generation options).
// Pure: no sockets, so tests/unit drives it directly.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/serve/data_uri.h"
#include "models/pipeline.h"

namespace fvlm::cli::serve {

struct ChatLimits {
  const AllowedFolder* files = nullptr;  // --allow-files; null or disabled: file paths refused
  int64_t max_image_bytes = 20 << 20;    // a file read through --allow-files
  GenerateOptions defaults;              // the server's: max_tokens when the request gives none, system
  ImageOptions image;                    // the server's image options (mode, resolution, max pixels)
};

struct ChatRequest {
  Request request;  // on_text is the caller's to set
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage: a last chunk with usage
  std::vector<std::string> stop;  // up to 4 strings; the text ends before the first one
  std::string model;              // as sent ("" = none); answers name the served model anyway
};

inline constexpr int kMaxStopStrings = 4;  // OpenAI's limit

// Throws Error: kBadArgs for every malformed or unsupported field (detail "param" names it), and
// the image's own errors (bad_image, too_large, unsupported, not_found).
ChatRequest parse_chat_request(std::string_view body, const ChatLimits& limits);

}  // namespace fvlm::cli::serve
