#include "cli/serve/openai_request.h"

#include <climits>

#include <fmt/format.h>

#include "cli/serve/json_fields.h"
#include "core/error.h"

namespace fvlm::cli::serve {
namespace {

using nlohmann::json;

struct Conversation {
  std::string system;
  bool has_system = false;
  std::vector<ChatMessage> messages;
  std::optional<Image> image;
};

// Adds the param to an image's own error (decode_image does not know where the image came from).
Image read_image(const json& url, const std::string& param, const ChatLimits& l) {
  if (!url.is_string()) bad_field(param, fmt::format("'{}' must be a string URL", param));
  static const AllowedFolder kNoFiles;
  try {
    return image_from_url(url.get<std::string>(), l.files ? *l.files : kNoFiles, l.image.max_pixels,
                          l.max_image_bytes, param);
  } catch (const Error& e) {
    if (e.detail().is_object() && e.detail().contains("param")) throw;
    json d = e.detail().is_object() ? e.detail() : json::object();
    d["param"] = param;
    throw Error(e.code(), e.what(), d);
  }
}

// A message's content: a string, or an array of {"type":"text"} and (user only)
// {"type":"image_url"} parts. Texts are joined with newlines.
std::string content_text(const json& m, const std::string& at, bool images_allowed, Conversation& c,
                         const ChatLimits& l) {
  const auto it = m.find("content");
  const std::string param = at + ".content";
  if (it == m.end() || it->is_null())
    bad_field(param, fmt::format("'{}' is missing (tool calls are not supported)", param));
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) bad_field(param, fmt::format("'{}' must be a string or an array of parts", param));
  std::string text;
  for (size_t k = 0; k < it->size(); ++k) {
    const json& part = (*it)[k];
    const std::string pp = fmt::format("{}[{}]", param, k);
    if (!part.is_object()) bad_field(pp, fmt::format("'{}' must be an object", pp));
    const std::string type = string_field(part, "type").value_or("");
    if (type == "text") {
      const auto t = string_field(part, "text");
      if (!t) bad_field(pp + ".text", fmt::format("'{}.text' is missing", pp));
      if (!text.empty()) text += "\n";
      text += *t;
    } else if (type == "image_url") {
      if (!images_allowed) bad_field(pp, fmt::format("'{}': only user messages may carry images", pp));
      if (c.image) bad_field(pp, "FastVLM takes one image per conversation; this request has more than one");
      const auto u = part.find("image_url");
      if (u == part.end()) bad_field(pp + ".image_url", fmt::format("'{}.image_url' is missing", pp));
      // OpenAI's form is {"url": ...}; a bare string is accepted too (some clients send it).
      const json& url = u->is_object() ? (u->contains("url") ? (*u)["url"] : json()) : *u;
      c.image = read_image(url, pp + ".image_url.url", l);
    } else {
      bad_field(pp + ".type", fmt::format("'{}.type' must be \"text\" or \"image_url\", got \"{}\"", pp,
                                          type.substr(0, 32)));
    }
  }
  return text;
}

Conversation read_messages(const json& body, const ChatLimits& l) {
  const auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty())
    bad_field("messages", "'messages' must be a non-empty array of messages");
  Conversation c;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) bad_field(at, fmt::format("'{}' must be an object", at));
    const std::string role = string_field(m, "role").value_or("");
    if (role == "system" || role == "developer") {
      const std::string t = content_text(m, at, false, c, l);
      c.system += (c.has_system ? "\n\n" : "") + t;
      c.has_system = true;
    } else if (role == "user") {
      c.messages.push_back({ChatRole::kUser, content_text(m, at, true, c, l)});
    } else if (role == "assistant") {
      if (m.contains("tool_calls") && !m["tool_calls"].is_null())
        bad_field(at + ".tool_calls", "tool calls are not supported");
      c.messages.push_back({ChatRole::kAssistant, content_text(m, at, false, c, l)});
    } else {
      bad_field(at + ".role",
                fmt::format("'{}.role' must be system, developer, user or assistant, got \"{}\"", at,
                            role.substr(0, 32)));
    }
  }
  if (c.messages.empty() || c.messages.back().role != ChatRole::kUser)
    bad_field("messages", "the conversation must end with a user message");
  return c;
}

// Features of the API this server does not have: refused rather than silently ignored.
void refuse_unsupported(const json& body) {
  if (const auto n = int_field(body, "n", INT64_MIN, INT64_MAX); n && *n != 1)
    bad_field("n", "only n = 1 is supported");
  for (const char* k : {"tools", "functions"})
    if (body.contains(k) && !body[k].is_null() && !(body[k].is_array() && body[k].empty()))
      bad_field(k, fmt::format("'{}' (tool calling) is not supported", k));
  if (bool_field(body, "logprobs").value_or(false)) bad_field("logprobs", "logprobs are not supported");
  if (const auto rf = body.find("response_format"); rf != body.end() && !rf->is_null()) {
    if (!rf->is_object() || rf->value("type", json()) != "text")
      bad_field("response_format", "only response_format {\"type\": \"text\"} is supported");
  }
}

std::vector<std::string> read_stop(const json& body) {
  const auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return {};
  std::vector<std::string> stops;
  if (it->is_string()) {
    stops.push_back(it->get<std::string>());
  } else if (it->is_array() && it->size() <= size_t(kMaxStopStrings)) {
    for (const json& s : *it) {
      if (!s.is_string()) bad_field("stop", "'stop' must be a string or an array of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    bad_field("stop",
              fmt::format("'stop' must be a string or an array of at most {} strings", kMaxStopStrings));
  }
  for (const std::string& s : stops)
    if (s.empty()) bad_field("stop", "a stop string may not be empty");
  return stops;
}

}  // namespace

ChatRequest parse_chat_request(std::string_view body_text, const ChatLimits& l) {
  const json body = parse_object(body_text);
  refuse_unsupported(body);
  ChatRequest r;
  r.model = string_field(body, "model").value_or("");
  r.stream = bool_field(body, "stream").value_or(false);
  if (const auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) bad_field("stream_options", "'stream_options' must be an object");
    r.include_usage = bool_field(*so, "include_usage").value_or(false);
  }
  r.stop = read_stop(body);
  GenerateOptions& g = r.request.gen;
  g = l.defaults;
  // max_completion_tokens replaced max_tokens in OpenAI's API; both are accepted, the new one wins.
  const auto max_tokens = int_field(body, "max_tokens", 1, INT_MAX);
  const auto max_completion = int_field(body, "max_completion_tokens", 1, INT_MAX);
  if (max_completion)
    g.max_tokens = int(*max_completion);
  else if (max_tokens)
    g.max_tokens = int(*max_tokens);
  g.temperature = float(number_field(body, "temperature", 0.0, 2.0).value_or(g.temperature));
  if (const auto p = number_field(body, "top_p", 0.0, 1.0)) {
    if (*p <= 0.0) bad_field("top_p", "'top_p' must be above 0 (0 would keep no token)");
    g.top_p = float(*p);
  }
  if (const auto s = int_field(body, "seed", INT64_MIN, INT64_MAX)) g.seed = uint64_t(*s);
  // fastvlm's own sampling fields (the CLI's options of the same names).
  g.top_k = int(int_field(body, "top_k", 0, INT_MAX).value_or(g.top_k));
  g.repetition_penalty =
      float(number_field(body, "repetition_penalty", 0.01, 100.0).value_or(g.repetition_penalty));
  g.ignore_eos = bool_field(body, "ignore_eos").value_or(g.ignore_eos);

  Conversation c = read_messages(body, l);
  if (c.has_system) g.system = c.system;
  r.request.messages = std::move(c.messages);
  r.request.image = std::move(c.image);
  r.request.img = l.image;
  return r;
}

}  // namespace fvlm::cli::serve
