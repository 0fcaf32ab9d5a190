// Answers through a live server equal the CLI's: every golden e2e case through /v1/fastvlm/ask
// (the same result object, the golden greedy ids) and through /v1/chat/completions, whole and
// streamed; stop strings; /v1/models and /health.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "models/engine.h"
#include "tests/e2e/cli_runner.h"
#include "tests/serve/serve_fixture.h"
#include "tests/test_util.h"

using namespace fvlm::test;
using nlohmann::json;

namespace {

json golden_cases() { return golden_e2e_cases(); }

// The result object without what differs between two runs (timings) or by transport (the
// image's name: the CLI's path, the upload's file name).
json comparable(json j) {
  j.erase("timing_ms");
  j.erase("decode_tokens_per_s");
  j.erase("image");
  return j;
}

json chat_body(const std::string& image, const std::string& question, bool stream) {
  json body = {
      {"model", "fastvlm"},
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", question}},
           {{"type", "image_url"},
            {"image_url", {{"url", "data:image/png;base64," + base64_file(golden_image(image))}}}}}}}}},
      {"max_tokens", 12},
      {"ignore_eos", true}};
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

// The events of a server-sent-events body: every "data: " payload, [DONE] included.
std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  return out;
}

}  // namespace

TEST_CASE("serve: every golden e2e case through /v1/fastvlm/ask is the CLI's result object") {
  ServeProcess server("--vision-precision f32");
  const json cases = golden_cases();
  REQUIRE(cases.size() >= 4);
  for (const json& c : cases) {
    const std::string tag = c["tag"], image = golden_image(c["image"]), q = c["question"];
    CAPTURE(tag);
    const CliRun cli = run_cli("ask --vision-precision f32 -m " + shell_quote(tiny_model()) + " " +
                               shell_quote(image) + " " + shell_quote(q) + " --max-tokens 12 --ignore-eos");
    REQUIRE(cli.exit_code == 0);
    REQUIRE(cli.lines.size() == 1);
    // Multipart upload, as a form would send it.
    const Http form = curl(server.url("/v1/fastvlm/ask"), "-F image=@" + shell_quote(image) +
                                                              " -F question=" + shell_quote(q) +
                                                              " -F max_tokens=12 -F ignore_eos=true");
    CHECK(form.status == 200);
    REQUIRE(form.json.is_object());
    CHECK(form.json["token_ids"] == c["greedy_ids"]);
    CHECK(form.json["n_prompt_tokens"] == c["spliced_length"]);
    CHECK(form.json["answer"] == c["greedy_text_predict"]);
    CHECK(form.json["image"] == std::string(c["image"]));
    CHECK(comparable(form.json) == comparable(cli.lines[0]));
    CHECK(form.json["timing_ms"].is_object());
    // JSON with the image in base64.
    const Http js = post_json(server.url("/v1/fastvlm/ask"), json({{"image", base64_file(image)},
                                                                   {"image_name", "x.png"},
                                                                   {"question", q},
                                                                   {"max_tokens", 12},
                                                                   {"ignore_eos", true}})
                                                                 .dump());
    CHECK(js.status == 200);
    CHECK(js.json["image"] == "x.png");
    CHECK(comparable(js.json) == comparable(cli.lines[0]));
  }
  // The other tasks answer their own CLI objects.
  for (const std::string task : {"describe", "ocr", "count"}) {
    CAPTURE(task);
    const std::string image = golden_image("wide.png");
    const CliRun cli = run_cli(task + " --vision-precision f32 -m " + shell_quote(tiny_model()) + " " +
                               shell_quote(image) + (task == "count" ? " bottles" : "") + " --max-tokens 4");
    REQUIRE(cli.lines.size() == 1);
    const Http h =
        curl(server.url("/v1/fastvlm/" + task), "-F image=@" + shell_quote(image) + " -F max_tokens=4" +
                                                    (task == "count" ? " -F what=bottles" : ""));
    CHECK(h.status == 200);
    CHECK(comparable(h.json) == comparable(cli.lines[0]));
  }
  CHECK(healthy(server));
}

TEST_CASE("serve: chat completions answer what the CLI answers, whole and streamed") {
  ServeProcess server("--vision-precision f32");
  for (const json& c : golden_cases()) {
    const std::string tag = c["tag"];
    CAPTURE(tag);
    const Http whole =
        post_json(server.url("/v1/chat/completions"), chat_body(c["image"], c["question"], false).dump());
    CHECK(whole.status == 200);
    REQUIRE(whole.json.is_object());
    CHECK(whole.json["object"] == "chat.completion");
    CHECK(std::string(whole.json["id"]).rfind("chatcmpl-", 0) == 0);
    CHECK(whole.json["model"] == "model");
    CHECK(whole.json["choices"][0]["message"]["role"] == "assistant");
    CHECK(whole.json["choices"][0]["message"]["content"] == c["greedy_text_predict"]);
    CHECK(whole.json["choices"][0]["finish_reason"] == "length");
    CHECK(whole.json["usage"]["prompt_tokens"] == c["spliced_length"]);
    CHECK(whole.json["usage"]["completion_tokens"] == 12);
    CHECK(whole.json["usage"]["total_tokens"] == c["spliced_length"].get<int>() + 12);

    const Http streamed = post_json(server.url("/v1/chat/completions"),
                                    chat_body(c["image"], c["question"], true).dump(), "-N");
    CHECK(streamed.status == 200);
    const std::vector<std::string> events = sse_payloads(streamed.body);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    std::string text, finish;
    json usage;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      const json e = json::parse(events[i]);
      CHECK(e["object"] == "chat.completion.chunk");
      CHECK(e["id"] == json::parse(events[0])["id"]);
      if (e.contains("usage")) usage = e["usage"];
      for (const json& ch : e["choices"]) {
        if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
        if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
      }
    }
    CHECK(json::parse(events[0])["choices"][0]["delta"]["role"] == "assistant");
    CHECK(text == c["greedy_text_predict"]);
    CHECK(finish == "length");
    CHECK(usage["completion_tokens"] == 12);
    CHECK(usage["prompt_tokens"] == c["spliced_length"]);
  }
  CHECK(healthy(server));
}

TEST_CASE("serve: stop strings end the answer before them, streamed or not") {
  ServeProcess server("--vision-precision f32");
  // The tiny model's greedy answer to this case repeats "impeachment".
  json body = chat_body("wide.png", "Describe the image.", false);
  body["stop"] = {"ment imp"};
  const Http whole = post_json(server.url("/v1/chat/completions"), body.dump());
  CHECK(whole.status == 200);
  CHECK(whole.json["choices"][0]["message"]["content"] == "impeach");
  CHECK(whole.json["choices"][0]["finish_reason"] == "stop");
  CHECK(whole.json["usage"]["completion_tokens"].get<int>() < 12);  // generation stopped early
  body["stream"] = true;
  const Http streamed = post_json(server.url("/v1/chat/completions"), body.dump(), "-N");
  std::string text;
  for (const std::string& e : sse_payloads(streamed.body)) {
    if (e == "[DONE]") continue;
    const json chunk = json::parse(e);
    for (const json& ch : chunk["choices"])
      if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
  }
  CHECK(text == "impeach");
  CHECK(streamed.body.find("\"finish_reason\":\"stop\"") != std::string::npos);
}

TEST_CASE("serve: /v1/models and /health") {
  ServeProcess server;
  const Http models = curl(server.url("/v1/models"));
  CHECK(models.status == 200);
  CHECK(models.json["object"] == "list");
  REQUIRE(models.json["data"].size() == 1);
  CHECK(models.json["data"][0]["id"] == "model");
  CHECK(models.json["data"][0]["object"] == "model");
  const Http health = curl(server.url("/health"));
  CHECK(health.status == 200);
  CHECK(health.json["status"] == "ok");
  CHECK(health.json["in_flight"] == 0);
  // serve's default, as batch's: batched, 2 sequences per core (up to 8); the encoder run-ahead is
  // then off (it pays only below one sequence per thread).
  CHECK(health.json["engine"]["parallel"] == fvlm::default_parallel());
  CHECK(health.json["engine"]["encode_ahead"] == 0);
  // A text-only conversation with history is answered too.
  const Http text = post_json(server.url("/v1/chat/completions"),
                              R"({"messages":[{"role":"system","content":"Be brief."},
                                  {"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."},
                                  {"role":"user","content":"And?"}],"max_tokens":3})");
  CHECK(text.status == 200);
  CHECK(text.json["usage"]["completion_tokens"].get<int>() <= 3);
  CHECK(text.json["usage"]["prompt_tokens"].get<int>() > 10);
}

TEST_CASE("serve: --encode-ahead and --encoder-threads reach the engine, /health shows what it did") {
  ServeProcess server("--parallel 2 --encode-ahead 3 --encoder-threads 1");
  const Http text = post_json(server.url("/v1/chat/completions"),
                              R"({"messages":[{"role":"user","content":"Hi"}],"max_tokens":3})");
  CHECK(text.status == 200);
  const Http health = curl(server.url("/health"));
  CHECK(health.status == 200);
  const json& e = health.json["engine"];
  REQUIRE(e.is_object());
  CHECK(e["parallel"] == 2);
  CHECK(e["encode_ahead"] == 3);
  CHECK(e["encoder_threads"] == 1);
  CHECK(e["kv_budget_mb"].get<int64_t>() > 0);
  // The warm-up request at load and this one, both through the run-ahead encoder thread.
  CHECK(e["encoded_ahead"] == 2);
  CHECK(e["decode_steps"].get<int64_t>() >= 1);
  CHECK(e["max_ready"].get<int>() >= 1);
  CHECK(e["max_ready"].get<int>() <= 3);
}
