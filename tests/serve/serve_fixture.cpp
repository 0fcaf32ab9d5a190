#include "tests/serve/serve_fixture.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "core/base64.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

extern char** environ;

namespace fvlm::test {
namespace {

std::string unique(const std::string& name) {
  static std::atomic<int> n{0};
  return temp_path("serve_" + std::to_string(n++) + "_" + name);
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ServeProcess::ServeProcess(const std::string& args, const std::string& env) {
  out_ = unique("out.txt");
  err_ = unique("err.txt");
  const std::string cmd = "exec " + (env.empty() ? "" : "env " + env + " ") + quoted_cli() + " serve -m " +
                          shell_quote(tiny_model()) + " --port 0 " + args + " > " + shell_quote(out_) +
                          " 2> " + shell_quote(err_);
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  REQUIRE(posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  const auto start = std::chrono::steady_clock::now();
  const auto waited = [&] { return std::chrono::steady_clock::now() - start; };
  // The port, from the first line on stdout.
  while (port_ == 0 && waited() < std::chrono::seconds(60)) {
    const std::string out = stdout_text();
    if (out.find('\n') != std::string::npos) {
      const auto j = nlohmann::json::parse(out.substr(0, out.find('\n')), nullptr, false);
      REQUIRE_MESSAGE(j.is_object(), "not JSON: " << out);
      REQUIRE_MESSAGE(j.value("event", "") == "listening", out);
      port_ = j["port"];
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("fastvlm serve exited at start: " << stdout_text() << stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE_MESSAGE(port_ > 0, "no listening line from fastvlm serve: " << stderr_text());
  while (!healthy(*this) && waited() < std::chrono::seconds(300))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE_MESSAGE(healthy(*this), "fastvlm serve never became ready: " << stderr_text());
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && stop(SIGTERM, 60) < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::remove(out_.c_str());
  std::remove(err_.c_str());
}

std::string ServeProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int ServeProcess::stop(int sig, int timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string ServeProcess::stdout_text() const { return file_bytes(out_); }
std::string ServeProcess::stderr_text() const { return file_bytes(err_); }

Http curl(const std::string& url, const std::string& args) {
  const std::string body = unique("body.txt");
  std::string status;
  run_command("curl -sS -o " + shell_quote(body) + " -w '%{http_code}' " + args + " " + shell_quote(url) +
                  " 2>/dev/null",
              status);
  Http h;
  h.status = std::atoi(status.c_str());
  h.body = file_bytes(body);
  h.json = nlohmann::json::parse(h.body, nullptr, false);
  std::remove(body.c_str());
  return h;
}

Http post_json(const std::string& url, const std::string& body, const std::string& extra_args) {
  const std::string file = unique("request.json");
  std::ofstream(file, std::ios::binary) << body;
  Http h =
      curl(url, "-H 'Content-Type: application/json' --data-binary @" + shell_quote(file) + " " + extra_args);
  std::remove(file.c_str());
  return h;
}

bool healthy(const ServeProcess& s) {
  const Http h = curl(s.url("/health"), "-m 5");
  return h.status == 200 && h.json.is_object() && h.json.value("status", "") == "ok";
}

std::string base64_file(const std::string& path) { return base64_encode(file_bytes(path)); }

}  // namespace fvlm::test
