// POST /v1/chat/completions: OpenAI's chat completions over the Engine, whole or streamed as
// server-sent events.
#include <chrono>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/serve/openai_response.h"
#include "cli/serve_http.h"
#include "cli/serve_routes.h"

namespace fvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;

serve::CompletionIds new_ids(const ServeState& s) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return {
      fmt::format("chatcmpl-{:016x}{:08x}", rng(), uint32_t(rng())),
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count(),
      s.model_id};
}

serve::Usage usage_of(const GenerateResult& r) { return {r.n_prompt_tokens, int(r.token_ids.size())}; }

// A result the flight cancelled for its own reasons (not a stop string): timeout or shutdown.
bool cancelled_by_server(const GenerateResult& r, const Flight& f) {
  return r.cancelled && !f.text.stopped();
}

// The streamed answer: cpp-httplib calls this until sink.done(); each call sends what the engine
// produced since, and the end (last text, finish_reason, usage, [DONE]) once the result is in.
struct EventStream {
  std::shared_ptr<Flight> flight;
  std::shared_ptr<std::future<GenerateResult>> result;
  serve::CompletionIds ids;
  bool include_usage = false;
  Clock::time_point deadline;
  bool first = true;

  bool operator()(size_t, httplib::DataSink& sink) {
    using namespace std::chrono_literals;
    Flight& f = *flight;
    {
      std::unique_lock lock(f.mutex);
      f.changed.wait_for(lock, 50ms, [&] { return !f.pending.empty(); });
    }
    if (!sink.is_writable()) return false;  // the client went away: the releaser cancels
    if (Clock::now() > deadline || f.state.cancel_all) f.cancel = true;
    const bool done = result->wait_for(0s) == std::future_status::ready;
    std::string text = f.take_pending();
    if (!text.empty() || first) {
      if (!write(sink, serve::chunk_json(ids, text, first))) return false;  // as above
      first = false;
    }
    if (!done) return true;
    try {
      const GenerateResult r = take_result(*result);
      if (cancelled_by_server(r, f)) {
        const bool timeout = !f.state.cancel_all;
        write(sink, serve::error_object(503,
                                        timeout ? "the request did not finish in time (--timeout-s)"
                                                : "the server is shutting down",
                                        timeout ? "timeout" : "shutting_down"));
      } else {
        std::string rest;
        {
          std::lock_guard lock(f.mutex);
          rest = f.pending + f.text.finish();
          f.pending.clear();
        }
        if (!rest.empty()) write(sink, serve::chunk_json(ids, rest, false));
        write(sink, serve::chunk_json(ids, "", false,
                                      serve::openai_finish_reason(r.finish_reason, f.text.stopped())));
        if (include_usage) write(sink, serve::usage_chunk_json(ids, usage_of(r)));
      }
    } catch (const Error& e) {  // after the first token: the status is sent, the error is an event
      write(sink, serve::error_object(e));
    }
    sink.write(serve::kSseDone.data(), serve::kSseDone.size());
    sink.done();
    return true;
  }

  static bool write(httplib::DataSink& sink, const nlohmann::ordered_json& j) {
    const std::string e = serve::sse_event(j);
    return sink.write(e.data(), e.size());
  }
};

}  // namespace

void handle_chat(ServeState& s, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  const Body body = read_body(req, res, reader, s.settings.max_body_bytes);
  std::unique_ptr<Admission> slot = Admission::try_admit(s);
  if (!slot)
    return send_error(res, 429,
                      fmt::format("the server's queue is full ({} requests, --max-queue); retry later",
                                  s.settings.max_queue),
                      "queue_full");
  serve::ChatRequest chat = serve::parse_chat_request(body.text, s.chat);
  if (s.settings.log_prompts) spdlog::info("prompt: {:.200}", chat.request.messages.back().text);
  auto flight = std::make_shared<Flight>(s, chat.stop, std::move(slot));
  // The request owns a reference: after a timeout the handler is gone and the engine still runs it.
  chat.request.on_text = [flight](const std::string& piece) { return flight->on_text(piece); };
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(s.settings.timeout_s);
  auto result = std::make_shared<std::future<GenerateResult>>(s.engine->submit(std::move(chat.request)));
  const serve::ClientSocket client = client_socket(req);
  const serve::CompletionIds ids = new_ids(s);
  // Streamed or not, nothing is sent before the first text: an error found before it (a prompt
  // longer than the context, a bad image) still gets its own status.
  const Waited w = wait_for_result(*result, *flight, client, deadline, /*want_text=*/chat.stream);
  if (w != Waited::kDone && w != Waited::kText) return send_not_done(res, w, s.settings.timeout_s);
  if (w == Waited::kDone && !chat.stream) {
    const GenerateResult r = take_result(*result);
    if (cancelled_by_server(r, *flight)) return send_not_done(res, Waited::kShutdown, s.settings.timeout_s);
    std::string content;
    {
      std::lock_guard lock(flight->mutex);
      flight->text.finish();
      content = flight->text.text();
    }
    return send_json(
        res, 200,
        serve::completion_json(
            ids, content, serve::openai_finish_reason(r.finish_reason, flight->text.stopped()), usage_of(r)));
  }
  if (w == Waited::kDone) {
    // Done before any text (no token at all, or an error): an error keeps its own status.
    try {
      std::promise<GenerateResult> again;
      again.set_value(take_result(*result));
      *result = again.get_future();
    } catch (const Error& e) {
      return send_error(res, e);
    }
  }
  res.set_header("Cache-Control", "no-cache");
  // However the stream ends short of its end (EventStream saw the client gone, a write failed, or
  // cpp-httplib's own socket check before a call stopped it without one), cpp-httplib calls the
  // releaser with success = false: the one place that cancels, so the engine drops the sequence at
  // its next token. (Cancelling only inside EventStream missed the last two: the sequence then ran
  // to its max_tokens with its queue slot taken; seen under ASan.)
  res.set_chunked_content_provider("text/event-stream",
                                   EventStream{flight, result, ids, chat.include_usage, deadline},
                                   [flight](bool success) {
                                     if (!success) flight->cancel = true;
                                   });
}

}  // namespace fvlm::cli
