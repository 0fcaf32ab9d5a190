// `fastvlm serve`: the OpenAI-compatible HTTP server. This file owns the options and the process's
// lifetime: bind (loopback by default) -> answer /health "loading" while the model loads -> ready
// -> on SIGTERM/SIGINT drain: stop accepting, let the requests in flight finish (cancelled after
// --grace-s), exit 0 (SIGINT: 130). The routes are in serve_routes.cpp.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "cli/serve_routes.h"
#include "cli/stop_signals.h"
#include "cli/tasks.h"
#include "core/error.h"

namespace fvlm::cli {
namespace {

struct ServeCommand {
  // run.engine: --parallel, --kv-budget, --encode-ahead, --encoder-threads (RunOptions' defaults,
  // as batch: concurrent requests batched, as many as default_parallel() picks).
  RunOptions run;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  int max_body_mb = 20;
  int timeout_s = 120;
  int max_queue = 32;
  int grace_s = 30;
  std::string allow_files;
};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The model's name in answers: its folder or file name.
std::string model_id(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int run_serve(ServeCommand& c) {
  finish_run_options(c.run);
  if (c.api_key.empty() && !is_loopback(c.host))
    spdlog::warn("listening on {} without an API key: anyone who reaches this address can use the model",
                 c.host);
  ServeState s;
  s.settings.api_key = c.api_key;
  s.settings.max_body_bytes = int64_t(c.max_body_mb) << 20;
  s.settings.timeout_s = c.timeout_s;
  s.settings.max_queue = c.max_queue;
  s.settings.log_prompts = spdlog::get_level() <= spdlog::level::info;  // -v
  if (!c.allow_files.empty()) s.files = std::make_unique<serve::AllowedFolder>(c.allow_files);
  s.chat.files = s.files.get();
  s.chat.max_image_bytes = s.settings.max_body_bytes;
  s.chat.defaults = c.run.gen;
  s.chat.image = c.run.image;
  // The access log is the server's output on stderr: shown unless -q.
  if (spdlog::get_level() > spdlog::level::info && spdlog::get_level() < spdlog::level::err)
    spdlog::set_level(spdlog::level::info);

  // Signals are taken by one thread (sigwait), so every thread made from here on blocks them.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not a dead server

  httplib::Server svr;
  // One thread per connection being answered: the admitted requests, plus room to refuse more
  // (429) and to answer /health meanwhile.
  svr.new_task_queue = [n = size_t(c.max_queue) + 8] { return new httplib::ThreadPool(n); };
  svr.set_payload_max_length(size_t(s.settings.max_body_bytes));
  std::atomic<int> listen_fd{-1};
  // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, which would let another
  // process bind the same port and take a share of the connections.
  svr.set_socket_options([&listen_fd](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  add_serve_routes(svr, s);
  const int port =
      c.port == 0 ? svr.bind_to_any_port(c.host) : (svr.bind_to_port(c.host, c.port) ? c.port : -1);
  if (port <= 0)
    throw Error(Errc::kBadArgs, fmt::format("cannot listen on {}:{} (address in use, or not this machine's)",
                                            c.host, c.port));
  const std::string url =
      fmt::format("http://{}:{}", c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host, port);
  emit({{"ok", true}, {"event", "listening"}, {"url", url}, {"host", c.host}, {"port", port}});
  spdlog::info("listening on {} (loading the model)", url);

  std::atomic<bool> listener_done{false}, finished{false};
  std::thread listener([&] {
    svr.listen_after_bind();
    listener_done = true;
  });
  std::atomic<int> signal_received{0};
  std::thread signals([&] {
    std::chrono::steady_clock::time_point grace_end{};
    while (!finished) {
      const timespec tick{0, 100'000'000};
      const int sig = sigtimedwait(&stop_set, nullptr, &tick);
      if (sig > 0) {
        if (signal_received.exchange(sig) != 0) _exit(128 + sig);  // the second signal: now
        if (!s.ready) {                                            // nothing in flight while loading
          spdlog::warn("{} while loading: exiting", signal_name(sig));
          std::fflush(stdout);
          _exit(sig == SIGTERM ? 0 : 128 + sig);
        }
        spdlog::warn(
            "{}: draining: no new connections, {} request(s) in flight finish (up to {} s; signal again "
            "to quit now)",
            signal_name(sig), s.admitted.load(), c.grace_s);
        s.draining = true;
        grace_end = std::chrono::steady_clock::now() + std::chrono::seconds(c.grace_s);
        // Wakes the accept() of the listening thread with an error: it stops accepting, then waits
        // for the connections being answered. (Server::stop() would also cut the streams short.)
        if (!listener_done) ::shutdown(listen_fd, SHUT_RDWR);
      }
      if (grace_end != std::chrono::steady_clock::time_point{} && !s.cancel_all &&
          std::chrono::steady_clock::now() > grace_end) {
        spdlog::warn("grace period over: cancelling {} request(s)", s.admitted.load());
        s.cancel_all = true;
      }
    }
  });
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Engine> engine;
  try {
    pipeline = load_pipeline(c.run.model, /*many_images=*/true);
    engine = Engine::create(*pipeline, c.run.engine);
    // Loading maps the weights; the encoder packs them on its first image. One small request now
    // makes that part of "loading", so that "ok" on /health means answers come at full speed
    // (and a model that cannot answer fails here, not on a user's request).
    Request warm;
    warm.image = Image::black(64, 64);
    warm.messages = {{ChatRole::kUser, "Hi"}};
    warm.gen = c.run.gen;
    warm.gen.max_tokens = 1;
    warm.img = c.run.image;
    engine->submit(std::move(warm)).get();
  } catch (...) {
    svr.stop();
    listener.join();
    finished = true;
    signals.join();
    throw;
  }
  s.pipeline = pipeline.get();
  s.engine = engine.get();
  s.model_id = model_id(c.run.model.model);
  s.created = unix_now();
  s.ready = true;
  spdlog::info("ready: {} loaded in {:.0f} ms", s.model_id, pipeline->load_ms());
  listener.join();  // returns once drained
  finished = true;
  signals.join();
  engine.reset();  // every submitted request is done (cancelled ones end at their next token)
  const int sig = signal_received.load();
  emit({{"ok", true}, {"event", "stopped"}, {"signal", sig ? signal_name(sig) : "none"}});
  return sig == SIGINT ? 128 + SIGINT : kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<ServeCommand>();
  auto* cmd = app.add_subcommand("serve",
                                 "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/models, "
                                 "/health, /v1/fastvlm/{describe,count,ocr,ask})");
  add_model_options(cmd, c->run.model);
  add_llm_options(cmd, c->run.model);
  add_image_options(cmd, c->run);
  cmd->add_option("--host", c->host, "Address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option("--port", c->port, "Port (default 8080; 0: any free port, printed on stdout)")
      ->transform(whole_number(0, 65535, "a port from 0 to 65535"));
  cmd->add_option("--parallel", c->run.engine.parallel,
                  fmt::format("Requests generated together, one forward pass per token for all (0, the "
                              "default: from the cores, {} here; 1 = one at a time)",
                              default_parallel()))
      ->transform(whole_number(0, 256, "a whole number of sequences from 0 (automatic) to 256"));
  cmd->add_option("--kv-budget", c->run.engine.kv_budget_mb,
                  "KV cache memory for the requests in flight, MB (0 = a quarter of the free memory); a "
                  "request that does not fit waits")
      ->transform(whole_number(0, int64_t(1) << 40, "a whole number of MB, 0 for automatic"));
  add_run_ahead_options(cmd, c->run.engine, "requests");
  cmd->add_option("--api-key", c->api_key,
                  "Require Authorization: Bearer KEY on every route but /health (default: $FASTVLM_API_KEY)")
      ->envname("FASTVLM_API_KEY");
  cmd->add_option("--max-body-mb", c->max_body_mb, "Largest request body in MiB (default 20)")
      ->transform(whole_number(1, 1024, "a whole number of MiB from 1 to 1024"));
  cmd->add_option("--timeout-s", c->timeout_s, "Cancel a request not answered after this many seconds (120)")
      ->transform(whole_number(1, 86400, "a whole number of seconds from 1 to 86400"));
  cmd->add_option("--max-queue", c->max_queue,
                  "Requests admitted at once, waiting or generating; more get 429 (32)")
      ->transform(whole_number(1, 4096, "a whole number from 1 to 4096"));
  cmd->add_option("--grace-s", c->grace_s,
                  "On SIGTERM, how long requests in flight may take to finish before they are cancelled (30)")
      ->transform(whole_number(0, 3600, "a whole number of seconds from 0 to 3600"));
  cmd->add_option(
      "--allow-files", c->allow_files,
      "Let image_url name files (file:// or a path) inside this folder; nothing outside it is opened");
  cmd->add_option("--max-tokens", c->run.gen.max_tokens, "New tokens when a request does not say (256)")
      ->transform(whole_number(1, INT_MAX, "a whole number of new tokens, at least 1"));
  cmd->callback([c, &exit_code] { exit_code = run_serve(*c); });
}

}  // namespace fvlm::cli
