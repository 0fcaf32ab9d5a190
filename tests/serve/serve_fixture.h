// A live `fastvlm serve` for the tests: started on a free port (--port 0; the port is read from its
// "listening" line on stdout), ready once GET /health says ok, stopped with a signal. Requests go
// through curl, as a user would send them.
#pragma once
#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

namespace fvlm::test {

class ServeProcess {
 public:
  // `args` follow `serve -m <tiny model> --port 0`; `env` ("K=V ...") is set for the server only.
  explicit ServeProcess(const std::string& args = "", const std::string& env = "");
  ~ServeProcess();  // SIGTERM (and SIGKILL if it hangs)
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  std::string url(const std::string& path = "") const;
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits (up to timeout_s) for the exit: its exit code (128 + signal if killed by
  // one), or -1 on timeout.
  int stop(int sig, int timeout_s = 120);
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string out_, err_;
};

struct Http {
  int status = 0;  // 0: no HTTP answer (connection refused, ...)
  std::string body;
  nlohmann::json json;  // the body parsed (discarded when it is not JSON)
};
// curl -sS <args> against `url`; the body and status are captured.
Http curl(const std::string& url, const std::string& args = "");
// A JSON POST with the body in a temp file (bodies of megabytes do not fit a command line).
Http post_json(const std::string& url, const std::string& body, const std::string& extra_args = "");

// GET /health answers 200 with status "ok".
bool healthy(const ServeProcess& s);

std::string base64_file(const std::string& path);
std::string shell_quote(const std::string& s);

}  // namespace fvlm::test
