// The server's pure parts, without sockets: the OpenAI request parser (every check), the response
// writer (completion, chunks, SSE, error objects and statuses), base64 and data: URIs, the
// --allow-files folder, the API key compare, streamed text with stop strings, the task fields.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "cli/serve/auth.h"
#include "cli/serve/data_uri.h"
#include "cli/serve/openai_request.h"
#include "cli/serve/openai_response.h"
#include "cli/serve/task_request.h"
#include "cli/serve/text_stream.h"
#include "core/base64.h"
#include "core/error.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::cli::serve;
using nlohmann::json;

namespace {

std::string base64(const std::vector<uint8_t>& b) {
  return base64_encode(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

std::vector<uint8_t> png(int w, int h) {
  std::vector<uint8_t> out;
  cv::imencode(".png", cv::Mat(h, w, CV_8UC3, cv::Scalar(10, 20, 30)), out);
  return out;
}

std::string data_uri(const std::vector<uint8_t>& b) { return "data:image/png;base64," + base64(b); }

json user_with_image(const std::string& text, const std::string& url) {
  return {{"role", "user"},
          {"content",
           {{{"type", "text"}, {"text", text}}, {{"type", "image_url"}, {"image_url", {{"url", url}}}}}}};
}

// The error a parse throws: its code and the param its detail names.
std::pair<Errc, std::string> parse_error(const std::string& body, const ChatLimits& l = {}) {
  try {
    parse_chat_request(body, l);
  } catch (const Error& e) {
    const std::string param =
        e.detail().is_object() && e.detail().contains("param") ? e.detail()["param"] : "";
    return {e.code(), param};
  }
  FAIL("no error for " << body.substr(0, 200));
  return {Errc::kInternal, ""};
}

}  // namespace

TEST_CASE("serve: base64 encodes and decodes RFC 4648 and refuses everything else") {
  const std::pair<const char*, const char*> rfc4648[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : rfc4648) CHECK(base64_encode(plain) == coded);
  for (size_t n = 0; n < 10; ++n) {
    std::vector<uint8_t> b;
    for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(i * 37 + 200));
    const std::string s = base64(b);
    CHECK(base64_decode(s, "x") == b);
    std::string unpadded = s;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    CHECK(base64_decode(unpadded, "x") == b);
  }
  for (const char* bad : {"QUJD\n", "QU JD", "Q", "QUJDR", "QU=D", "QUJD===", "QQ=", "Q!==", "QUJD-_"})
    CHECK_THROWS_AS(base64_decode(bad, "x"), Error);
}

TEST_CASE("serve: data: URIs must be base64 images") {
  const auto b = png(3, 2);
  CHECK(data_uri_bytes(data_uri(b), "u") == b);
  CHECK(data_uri_bytes("DATA:image/jpeg;base64," + base64(b), "u") == b);
  for (const std::string bad : {"data:text/plain;base64,QUJD", "data:image/png,rawbytes",
                                "data:image/png;base64", "image/png;base64,QUJD", "data:;base64,QUJD"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(data_uri_bytes(bad, "u"), Error);
  }
}

TEST_CASE("serve: image URLs: http refused, files only inside --allow-files, never through ..") {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_path("serve_allow"), outside = test::temp_path("serve_outside.png");
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  const auto b = png(5, 4);
  std::ofstream(dir / "sub" / "in.png", std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), b.size());
  std::ofstream(outside, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  fs::create_symlink(outside, dir / "link_out.png");
  const AllowedFolder none, files(dir.string());
  const auto code = [&](const std::string& url, const AllowedFolder& f, int64_t max_pixels = 1'000'000) {
    try {
      image_from_url(url, f, max_pixels, 1 << 20, "u");
    } catch (const Error& e) {
      return e.code();
    }
    return Errc::kInternal;  // no error
  };
  CHECK(code("http://example.com/x.png", files) == Errc::kBadArgs);
  CHECK(code("HTTPS://example.com/x.png", files) == Errc::kBadArgs);
  CHECK(code("ftp://example.com/x.png", files) == Errc::kBadArgs);
  CHECK(code("sub/in.png", none) == Errc::kBadArgs);  // no folder allowed: no path at all
  CHECK(image_from_url("sub/in.png", files, 1'000'000, 1 << 20, "u").width == 5);
  CHECK(image_from_url("file://" + files.path() + "/sub/in.png", files, 1'000'000, 1 << 20, "u").height == 4);
  CHECK(code(files.path() + "/sub/%69n.png", files) == Errc::kNotFound);  // a plain path is taken as is
  CHECK(code("file://" + files.path() + "/sub/%69n.png", files) == Errc::kInternal);  // %-escapes decoded
  CHECK(code("sub/../sub/in.png", files) == Errc::kBadArgs);  // '..' refused even inside
  CHECK(code("../" + fs::path(outside).filename().string(), files) == Errc::kBadArgs);
  CHECK(code(outside, files) == Errc::kBadArgs);         // absolute, outside
  CHECK(code("link_out.png", files) == Errc::kBadArgs);  // a symlink out: the kernel refuses
  CHECK(code("/etc/passwd", files) == Errc::kBadArgs);
  CHECK(code("sub/missing.png", files) == Errc::kNotFound);
  CHECK(code("sub", files) == Errc::kBadArgs);  // a folder
  CHECK(code("sub/in.png", files) == Errc::kInternal);
  CHECK(code("sub/in.png", files, 19) == Errc::kTooLarge);  // 5 x 4 = 20 pixels
}

TEST_CASE("serve: the API key compare") {
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK(authorized("", ""));
  CHECK(authorized("Bearer k-1", "k-1"));
  CHECK(authorized("bearer k-1", "k-1"));
  CHECK_FALSE(authorized("", "k-1"));
  CHECK_FALSE(authorized("Bearer k-2", "k-1"));
  CHECK_FALSE(authorized("Basic k-1", "k-1"));
  CHECK_FALSE(authorized("k-1", "k-1"));
}

TEST_CASE("serve: a chat request becomes the engine's Request") {
  ChatLimits l;
  l.defaults.max_tokens = 99;
  const auto b = png(8, 6);
  json body = {{"model", "whatever"},
               {"messages",
                {{{"role", "system"}, {"content", "Be brief."}},
                 user_with_image("What is it?", data_uri(b)),
                 {{"role", "assistant"}, {"content", "A box."}},
                 {{"role", "user"}, {"content", "What colour?"}}}},
               {"temperature", 0.5},
               {"top_p", 0.9},
               {"seed", 7},
               {"stop", {"\n\n", "END"}},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  ChatRequest r = parse_chat_request(body.dump(), l);
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.stop == std::vector<std::string>{"\n\n", "END"});
  CHECK(r.model == "whatever");
  REQUIRE(r.request.image);
  CHECK(r.request.image->width == 8);
  CHECK(r.request.gen.system == "Be brief.");
  CHECK(r.request.gen.max_tokens == 99);  // the server's default
  CHECK(r.request.gen.temperature == doctest::Approx(0.5));
  CHECK(r.request.gen.top_p == doctest::Approx(0.9));
  CHECK(r.request.gen.seed == 7);
  REQUIRE(r.request.messages.size() == 3);
  CHECK(r.request.messages[0].text == "What is it?");
  CHECK(r.request.messages[1].role == ChatRole::kAssistant);
  CHECK(r.request.messages[2].text == "What colour?");
  body["max_tokens"] = 5;
  CHECK(parse_chat_request(body.dump(), l).request.gen.max_tokens == 5);
  body["max_completion_tokens"] = 6;  // the newer name wins
  CHECK(parse_chat_request(body.dump(), l).request.gen.max_tokens == 6);
  // Text only, and a string content.
  const ChatRequest t = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}]})", l);
  CHECK_FALSE(t.request.image);
  CHECK(t.request.gen.system == l.defaults.system);
  CHECK_FALSE(t.stream);
}

TEST_CASE("serve: every malformed chat request is bad_args naming its field") {
  const std::string img = data_uri(png(2, 2));
  const json user = {{"role", "user"}, {"content", "hi"}};
  const auto with = [&](const char* key, const json& v) {
    json b = {{"messages", {user}}};
    b[key] = v;
    return b.dump();
  };
  struct Case {
    std::string body, param;
  };
  const std::vector<Case> cases = {
      {"{bad", ""},
      {"[1,2]", ""},
      {"{}", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[{"role":"assistant","content":"x"}]})", "messages"},
      {R"({"messages":[{"role":"tool","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"audio"}]}]})", "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})", "messages[0].content[0].text"},
      {json({{"messages", {user_with_image("a", img), user_with_image("b", img)}}}).dump(),
       "messages[1].content[1]"},
      {json({{"messages",
              {{{"role", "system"}, {"content", {{{"type", "image_url"}, {"image_url", {{"url", img}}}}}}},
               user}}})
           .dump(),
       "messages[0].content[0]"},
      {with("max_tokens", -1), "max_tokens"},
      {with("max_tokens", 0), "max_tokens"},
      {with("max_tokens", 2.5), "max_tokens"},
      {with("max_tokens", "10"), "max_tokens"},
      {with("max_completion_tokens", -5), "max_completion_tokens"},
      {with("temperature", 3), "temperature"},
      {with("temperature", "hot"), "temperature"},
      {with("top_p", 0), "top_p"},
      {with("top_p", 1.5), "top_p"},
      {with("seed", 1.5), "seed"},
      {with("stop", ""), "stop"},
      {with("stop", json::array({"a", "b", "c", "d", "e"})), "stop"},
      {with("stop", json::array({1})), "stop"},
      {with("stream", "yes"), "stream"},
      {with("n", 2), "n"},
      {with("tools", json::array({{{"type", "function"}}})), "tools"},
      {with("logprobs", true), "logprobs"},
      {with("response_format", {{"type", "json_object"}}), "response_format"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 160));
    const auto [code, param] = parse_error(c.body);
    CHECK(code == Errc::kBadArgs);
    CHECK(param == c.param);
  }
}

TEST_CASE("serve: image errors keep their own codes, with the param") {
  // A header that claims 30000 x 30000: refused from the header (too_large), nothing allocated.
  const std::vector<uint8_t> bomb = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0, 0,
                                     13,   'I',  'H', 'D', 'R',  0,    0,    0x75, 0x30, 0, 0,
                                     0x75, 0x30, 8,   2,   0,    0,    0,    0,    0,    0, 0};
  const auto err = [](const std::string& url) {
    const std::string body = json({{"messages", {user_with_image("q", url)}}}).dump();
    return parse_error(body);
  };
  CHECK(err(data_uri(bomb)) ==
        std::pair{Errc::kTooLarge, std::string("messages[0].content[1].image_url.url")});
  CHECK(err("data:image/png;base64,QUJDRA==").first == Errc::kBadImage);
  CHECK(err("http://localhost/x.png").first == Errc::kBadArgs);
  CHECK(err("/etc/passwd").first == Errc::kBadArgs);
  // The server's pixel bound applies.
  ChatLimits small;
  small.image.max_pixels = 10;
  const std::string body = json({{"messages", {user_with_image("q", data_uri(png(4, 4)))}}}).dump();
  CHECK(parse_error(body, small).first == Errc::kTooLarge);
}

TEST_CASE("serve: responses in OpenAI's shapes, errors with their statuses") {
  const CompletionIds ids{"chatcmpl-1", 1700000000, "m"};
  const auto c = completion_json(ids, "hello", "stop", {10, 3});
  CHECK(c["object"] == "chat.completion");
  CHECK(c["choices"][0]["message"]["role"] == "assistant");
  CHECK(c["choices"][0]["message"]["content"] == "hello");
  CHECK(c["choices"][0]["finish_reason"] == "stop");
  CHECK(c["usage"]["total_tokens"] == 13);
  const auto first = chunk_json(ids, "he", true), last = chunk_json(ids, "", false, "length");
  CHECK(first["object"] == "chat.completion.chunk");
  CHECK(first["choices"][0]["delta"]["role"] == "assistant");
  CHECK(first["choices"][0]["finish_reason"].is_null());
  CHECK_FALSE(last["choices"][0]["delta"].contains("content"));
  CHECK(last["choices"][0]["finish_reason"] == "length");
  CHECK(usage_chunk_json(ids, {4, 2})["choices"].empty());
  const std::string e = sse_event(first);
  CHECK(e.rfind("data: {", 0) == 0);
  CHECK(e.substr(e.size() - 2) == "\n\n");
  CHECK(json::parse(e.substr(6)) == json::parse(first.dump()));
  CHECK(kSseDone == "data: [DONE]\n\n");
  CHECK(openai_finish_reason("length", false) == "length");
  CHECK(openai_finish_reason("cancelled", true) == "stop");
  CHECK(http_status(Errc::kBadArgs) == 400);
  CHECK(http_status(Errc::kNotFound) == 404);
  CHECK(http_status(Errc::kTooLarge) == 413);
  CHECK(http_status(Errc::kTooLarge, {{"context_length", 8192}}) == 400);
  CHECK(http_status(Errc::kBadImage) == 422);
  CHECK(http_status(Errc::kInternal) == 500);
  const auto err = error_object(Error(Errc::kBadArgs, "no", {{"param", "top_p"}}));
  CHECK(err["error"]["message"] == "no");
  CHECK(err["error"]["type"] == "invalid_request_error");
  CHECK(err["error"]["param"] == "top_p");
  CHECK(err["error"]["code"] == "bad_args");
  CHECK(error_object(Error(Errc::kTooLarge, "long", {{"context_length", 5}}))["error"]["code"] ==
        "context_length_exceeded");
  CHECK(error_object(401, "key", "invalid_api_key")["error"]["type"] == "authentication_error");
  CHECK(error_object(429, "full", "queue_full")["error"]["type"] == "rate_limit_error");
  // A model can stop mid-character: the writer replaces, never throws.
  CHECK_NOTHROW(dump(completion_json(ids, std::string("ok \xe2\x82"), "length", {})));
}

TEST_CASE("serve: streamed text: strip and stop strings, pieces concatenate to the whole") {
  const auto run = [](std::vector<std::string> stops, const std::vector<std::string>& pieces) {
    TextStream t(std::move(stops));
    std::string streamed;
    for (const std::string& p : pieces) streamed += t.push(p);
    streamed += t.finish();
    CHECK(streamed == t.text());
    return std::pair{streamed, t.stopped()};
  };
  CHECK(run({}, {"  ", "\nHello", " wor", "ld ", " \n"}) == std::pair{std::string("Hello world"), false});
  CHECK(run({"END"}, {"one E", "N", "D two"}) == std::pair{std::string("one"), true});  // across pieces
  CHECK(run({"END"}, {"one EN", "Z"}) == std::pair{std::string("one ENZ"), false});     // a false start
  CHECK(run({"\n\n", "x"}, {"ab\n", "\ncd"}) == std::pair{std::string("ab"), true});
  CHECK(run({"stop"}, {"sto"}) == std::pair{std::string("sto"), false});  // the end releases what was held
  // Held text is not sent early: the first piece may not leak a stop string's prefix.
  TextStream t({"ment imp"});
  CHECK(t.push("impeachment") == "impeach");
  CHECK(t.push(" impeachment") == "");
  CHECK(t.stopped());
  CHECK(t.text() == "impeach");
}

TEST_CASE("serve: task fields: the CLI's options by their JSON names") {
  GenerateOptions g;
  ImageOptions im;
  const TaskCall c = parse_task_call("ask",
                                     {{"question", "Total?"},
                                      {"max_tokens", 12},
                                      {"ignore_eos", true},
                                      {"image_mode", "crop"},
                                      {"resolution", 512},
                                      {"image", base64({1, 2, 3})},
                                      {"image_name", "r.png"}},
                                     g, im);
  CHECK(c.question == "Total?");
  CHECK(c.gen.max_tokens == 12);
  CHECK(c.gen.ignore_eos);
  CHECK(c.img.mode == ImageMode::kCrop);
  CHECK(c.img.resolution == 512);
  CHECK(c.image == std::vector<uint8_t>{1, 2, 3});
  CHECK(c.image_name == "r.png");
  CHECK_THROWS_AS(parse_task_call("ask", json::object(), g, im), Error);  // no question
  CHECK_THROWS_AS(parse_task_call("count", {{"what", "  "}}, g, im), Error);
  CHECK_THROWS_AS(parse_task_call("describe", {{"max_tokens", -1}}, g, im), Error);
  CHECK_THROWS_AS(parse_task_call("describe", {{"resolution", 100}}, g, im), Error);
  CHECK_THROWS_AS(parse_task_call("describe", {{"image_mode", "zoom"}}, g, im), Error);
  CHECK_THROWS_AS(parse_task_call("describe", {{"image", "not base64!"}}, g, im), Error);
  const json f = multipart_fields({{"question", "42"}, {"max_tokens", "7"}, {"ignore_eos", "true"}});
  CHECK(f["question"] == "42");  // stays text
  CHECK(f["max_tokens"] == 7);
  CHECK(f["ignore_eos"] == true);
  CHECK_THROWS_AS(multipart_fields({{"max_tokens", "seven"}}), Error);
}
