// What the server writes back, in OpenAI's shapes: chat.completion objects, chat.completion.chunk
// events (server-sent events, ended by "data: [DONE]"), and the error object
// {"error": {"message", "type", "param", "code"}} with its HTTP status. Pure: tests/unit checks it.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm::cli::serve {

struct Usage {
  int prompt_tokens = 0, completion_tokens = 0;
};

// The fields every answer to one request shares.
struct CompletionIds {
  std::string id;       // "chatcmpl-<hex>"
  int64_t created = 0;  // Unix seconds
  std::string model;
};

nlohmann::ordered_json completion_json(const CompletionIds& ids, const std::string& content,
                                       const std::string& finish_reason, const Usage& u);
// One streamed event: the first carries the role, the last the finish_reason (content then empty).
nlohmann::ordered_json chunk_json(const CompletionIds& ids, const std::string& content, bool first,
                                  const std::string& finish_reason = "");
// stream_options.include_usage: one more chunk, no choices, the usage.
nlohmann::ordered_json usage_chunk_json(const CompletionIds& ids, const Usage& u);

std::string sse_event(const nlohmann::ordered_json& j);  // "data: {...}\n\n"
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// The engine's finish reason as OpenAI's: "stop" (end token or a stop string), "length".
std::string openai_finish_reason(const std::string& engine_reason, bool stop_string_seen);

// The HTTP status of an error: bad_args 400, not_found 404, too_large 413 (a prompt longer than
// the context: 400, OpenAI's context_length_exceeded), bad_image / unsupported 422,
// out_of_memory 503, the rest 500.
int http_status(Errc code, const nlohmann::json& detail = {});
// OpenAI's error object. `code` is fastvlm's error code name ("bad_image", ...) or the server's
// own ("unauthorized", "queue_full", "loading", "not_found" ...); `param` from detail["param"].
nlohmann::ordered_json error_object(int status, const std::string& message, const std::string& code,
                                    const std::string& param = "");
nlohmann::ordered_json error_object(const Error& e);

// Serialised for the wire: invalid UTF-8 (a model may stop mid-character) replaced, never thrown.
std::string dump(const nlohmann::ordered_json& j);

}  // namespace fvlm::cli::serve
