// What the server's routes share: the settings, the loaded model behind its Engine, the lifecycle
// flags (loading -> ready -> draining), and the bound on admitted requests. One per process.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "cli/serve/data_uri.h"
#include "cli/serve/openai_request.h"
#include "cli/serve/text_stream.h"
#include "models/engine.h"

namespace fvlm::cli {

struct ServeSettings {
  std::string api_key;  // "" = no key needed
  int64_t max_body_bytes = 20 << 20;
  int timeout_s = 120;       // a request still unanswered after this is cancelled (503 timeout)
  int max_queue = 32;        // requests admitted at once (queued + generating); more: 429
  bool log_prompts = false;  // -v: the access log shows the last user message
};

struct ServeState {
  ServeSettings settings;
  std::unique_ptr<serve::AllowedFolder> files;  // --allow-files (null: none)
  serve::ChatLimits chat;                       // defaults + image options; chat.files points at `files`
  std::atomic<bool> ready{false}, draining{false};
  std::atomic<bool> cancel_all{false};  // the drain's grace period is over
  Pipeline* pipeline = nullptr;         // set before ready
  Engine* engine = nullptr;
  std::string model_id;
  int64_t created = 0;  // Unix seconds at load
  std::atomic<int> admitted{0};
};

// One admitted request's place in the queue bound, released when the last owner lets go (the
// handler, or the engine that still holds the request after a timeout).
class Admission {
 public:
  static std::unique_ptr<Admission> try_admit(ServeState& s);  // null: the queue is full
  ~Admission() { --state_.admitted; }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

 private:
  explicit Admission(ServeState& s) : state_(s) {}
  ServeState& state_;
};

// A request in the engine, shared by the handler (which waits, streams and answers) and the
// request's on_text (the engine's thread). The text is filtered by TextStream (stop strings,
// strip) as it comes.
struct Flight {
  Flight(ServeState& s, std::vector<std::string> stops, std::unique_ptr<Admission> a)
      : state(s), text(std::move(stops)), slot(std::move(a)) {}

  // The request's on_text: returns false to cancel (stop string, client gone, timeout, shutdown).
  bool on_text(const std::string& piece);
  // Text produced since the last call, moved out.
  std::string take_pending();

  ServeState& state;
  std::mutex mutex;
  std::condition_variable changed;
  serve::TextStream text;
  std::string pending;
  std::atomic<bool> cancel{false};
  std::unique_ptr<Admission> slot;
};

}  // namespace fvlm::cli
