#include "cli/serve/openai_response.h"

namespace fvlm::cli::serve {

using nlohmann::ordered_json;

namespace {

ordered_json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

std::string error_type(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 429:
      return "rate_limit_error";
    case 500:
    case 503:
      return "server_error";
    default:
      return "invalid_request_error";
  }
}

}  // namespace

ordered_json completion_json(const CompletionIds& ids, const std::string& content,
                             const std::string& finish_reason, const Usage& u) {
  ordered_json choice = {{"index", 0},
                         {"message", {{"role", "assistant"}, {"content", content}}},
                         {"logprobs", nullptr},
                         {"finish_reason", finish_reason}};
  return {{"id", ids.id},       {"object", "chat.completion"}, {"created", ids.created},
          {"model", ids.model}, {"choices", {choice}},         {"usage", usage_json(u)}};
}

ordered_json chunk_json(const CompletionIds& ids, const std::string& content, bool first,
                        const std::string& finish_reason) {
  ordered_json delta = ordered_json::object();
  if (first) delta["role"] = "assistant";
  if (finish_reason.empty() || !content.empty()) delta["content"] = content;
  ordered_json choice = {{"index", 0}, {"delta", delta}, {"logprobs", nullptr}};
  choice["finish_reason"] = finish_reason.empty() ? ordered_json(nullptr) : ordered_json(finish_reason);
  return {{"id", ids.id},
          {"object", "chat.completion.chunk"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", {choice}}};
}

ordered_json usage_chunk_json(const CompletionIds& ids, const Usage& u) {
  return {{"id", ids.id},       {"object", "chat.completion.chunk"}, {"created", ids.created},
          {"model", ids.model}, {"choices", ordered_json::array()},  {"usage", usage_json(u)}};
}

std::string sse_event(const ordered_json& j) { return "data: " + dump(j) + "\n\n"; }

std::string openai_finish_reason(const std::string& engine_reason, bool stop_string_seen) {
  if (stop_string_seen) return "stop";
  return engine_reason == "length" ? "length" : "stop";
}

int http_status(Errc code, const nlohmann::json& detail) {
  switch (code) {
    case Errc::kBadArgs:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kTooLarge:
      return detail.is_object() && detail.contains("context_length") ? 400 : 413;
    case Errc::kBadImage:
    case Errc::kUnsupported:
      return 422;
    case Errc::kOutOfMemory:
      return 503;
    default:
      return 500;
  }
}

ordered_json error_object(int status, const std::string& message, const std::string& code,
                          const std::string& param) {
  return {{"error",
           {{"message", message},
            {"type", error_type(status)},
            {"param", param.empty() ? ordered_json(nullptr) : ordered_json(param)},
            {"code", code}}}};
}

ordered_json error_object(const Error& e) {
  const nlohmann::json& d = e.detail();
  const bool context = e.code() == Errc::kTooLarge && d.is_object() && d.contains("context_length");
  const std::string param = d.is_object() && d.contains("param") && d["param"].is_string() ? d["param"] : "";
  return error_object(http_status(e.code(), d), e.what(),
                      context ? "context_length_exceeded" : std::string(errc_name(e.code())), param);
}

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace fvlm::cli::serve
