// The server's lifetime: SIGTERM drains (no new connections, the stream in flight finishes with
// [DONE], exit 0); a busy port and a bad option are refused at start with the CLI's error object.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "tests/e2e/cli_runner.h"
#include "tests/serve/serve_fixture.h"
#include "tests/test_util.h"

using namespace fvlm::test;
using nlohmann::json;

TEST_CASE("serve: SIGTERM drains: new connections refused, the stream in flight ends with [DONE], exit 0") {
  ServeProcess server;
  const std::string body = temp_path("serve_drain.json"), out = temp_path("serve_drain.sse");
  std::ofstream(body) << json({{"messages", {{{"role", "user"}, {"content", "Go on."}}}},
                               {"max_tokens", 300},
                               {"ignore_eos", true},
                               {"stream", true}})
                             .dump();
  std::filesystem::remove(out);
  const std::string cmd = "curl -sN -H 'Content-Type: application/json' --data-binary @" + shell_quote(body) +
                          " " + shell_quote(server.url("/v1/chat/completions")) + " > " + shell_quote(out) +
                          " 2>&1 &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  // Wait for the first tokens, then stop the server mid-answer.
  for (int i = 0; i < 500 && file_bytes(out).find("data: ") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(file_bytes(out).find("data: ") != std::string::npos);
  auto waiter = std::async(std::launch::async, [&] { return server.stop(SIGTERM, 120); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Http refused = curl(server.url("/health"), "-m 5");
  CHECK(refused.status == 0);  // the listening socket is shut: connection refused
  CHECK(waiter.get() == 0);
  const std::string sse = file_bytes(out);
  CHECK(sse.find("\"finish_reason\":\"length\"") != std::string::npos);  // all 300 tokens
  CHECK(sse.size() >= 14);
  CHECK(sse.substr(sse.size() - 14) == "data: [DONE]\n\n");
  CHECK(server.stdout_text().find("\"event\":\"stopped\"") != std::string::npos);
  CHECK(server.stderr_text().find("SIGTERM: draining") != std::string::npos);
  std::filesystem::remove(body);
  std::filesystem::remove(out);
}

TEST_CASE("serve: start-up refusals are the CLI's error objects") {
  ServeProcess first;
  // The port is taken (no SO_REUSEPORT sharing).
  CliRun busy = run_cli("serve -m " + shell_quote(tiny_model()) + " --port " + std::to_string(first.port()));
  CHECK(busy.exit_code == 2);
  REQUIRE(busy.lines.size() == 1);
  CHECK(busy.lines[0]["error"]["code"] == "bad_args");
  CliRun bad = run_cli("serve -m " + shell_quote(tiny_model()) + " --port 70000");
  CHECK(bad.exit_code == 2);
  CliRun files =
      run_cli("serve -m " + shell_quote(tiny_model()) + " --port 0 --allow-files /nonexistent/dir");
  CHECK(files.exit_code == 3);
  REQUIRE(files.lines.size() == 1);
  CHECK(files.lines[0]["error"]["code"] == "not_found");
  CHECK(healthy(first));
}
