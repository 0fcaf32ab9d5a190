// Real clients: the official `openai` npm package run by node (tests/serve/client, installed by
// scripts/setup.sh with npm ci) and raw curl, against a live server with an API key. Where node or
// the package is missing the test FAILS with what to run: a skipped client test would let a
// broken wire format pass unnoticed.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/e2e/cli_runner.h"
#include "tests/serve/serve_fixture.h"
#include "tests/test_util.h"

using namespace fvlm::test;
using nlohmann::json;

TEST_CASE("serve: the official OpenAI client (npm openai, node) asks about an image, whole and streamed") {
  const std::string dir = FVLM_SERVE_CLIENT_DIR;
  std::string version;
  REQUIRE_MESSAGE(run_command("node --version 2>/dev/null", version) == 0,
                  "node is not installed: install node (20+) and npm, then run scripts/setup.sh");
  REQUIRE_MESSAGE(
      std::filesystem::exists(dir + "/node_modules/openai/package.json"),
      "the openai npm package is missing in " << dir << ": run scripts/setup.sh (npm ci in that folder)");
  std::ifstream pkg(dir + "/node_modules/openai/package.json");
  MESSAGE("node " << version.substr(0, version.find('\n')) << ", openai " << json::parse(pkg)["version"]);
  const json c = golden_e2e_cases()[0];
  ServeProcess server("--vision-precision f32 --api-key k-node");
  std::string out;
  const int rc =
      run_command("node " + shell_quote(dir + "/chat.mjs") + " " + shell_quote(server.url()) + " " +
                      shell_quote(golden_image(c["image"])) + " " + shell_quote(c["question"]) + " k-node",
                  out);
  REQUIRE_MESSAGE(rc == 0, "node chat.mjs failed: " << out << server.stderr_text());
  const json r = json::parse(out);
  CHECK(r["content"] == c["greedy_text_predict"]);
  CHECK(r["finish"] == "length");
  CHECK(r["usage"]["prompt_tokens"] == c["spliced_length"]);
  CHECK(r["usage"]["completion_tokens"] == 12);
  CHECK(r["streamed"] == c["greedy_text_predict"]);
  CHECK(r["stream_finish"] == "length");
  CHECK(r["stream_usage"]["completion_tokens"] == 12);
  CHECK(r["chunks"].get<int>() >= 3);
  CHECK(r["models"] == json::array({"model"}));
  CHECK(r["error"]["status"] == 400);
  CHECK(r["error"]["param"] == "max_tokens");
  CHECK(r["error"]["type"] == "invalid_request_error");
  CHECK(healthy(server));
}

TEST_CASE("serve: curl sends the same raw requests") {
  const json c = golden_e2e_cases()[1];
  ServeProcess server("--vision-precision f32");
  const json body = {
      {"model", "fastvlm"},
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", c["question"]}},
           {{"type", "image_url"},
            {"image_url", {{"url", "data:image/png;base64," + base64_file(golden_image(c["image"]))}}}}}}}}},
      {"max_tokens", 12},
      {"ignore_eos", true}};
  const Http whole = post_json(server.url("/v1/chat/completions"), body.dump());
  CHECK(whole.status == 200);
  CHECK(whole.json["choices"][0]["message"]["content"] == c["greedy_text_predict"]);
  json s = body;
  s["stream"] = true;
  const Http streamed = post_json(server.url("/v1/chat/completions"), s.dump(), "-N");
  CHECK(streamed.status == 200);
  CHECK(streamed.body.find("data: [DONE]") != std::string::npos);
  CHECK(streamed.body.rfind("data: [DONE]\n\n") == streamed.body.size() - 14);
}
