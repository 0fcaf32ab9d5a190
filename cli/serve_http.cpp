#include "cli/serve_http.h"

#include <cstdlib>

#include <fmt/format.h>

#include "cli/serve/openai_response.h"

namespace fvlm::cli {

std::unique_ptr<Admission> Admission::try_admit(ServeState& s) {
  int n = s.admitted.load();
  while (n < s.settings.max_queue)
    if (s.admitted.compare_exchange_weak(n, n + 1)) return std::unique_ptr<Admission>(new Admission(s));
  return nullptr;
}

bool Flight::on_text(const std::string& piece) {
  {
    std::lock_guard lock(mutex);
    pending += text.push(piece);
  }
  changed.notify_all();
  return !(text.stopped() || cancel.load() || state.cancel_all.load());
}

std::string Flight::take_pending() {
  std::lock_guard lock(mutex);
  return std::exchange(pending, {});
}

Body read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
               int64_t max_bytes) {
  Body b;
  int64_t total = 0;
  bool too_large = false;
  const auto within_bound = [&](size_t n) {
    total += int64_t(n);
    too_large = total > max_bytes;
    return !too_large;
  };
  bool ok = false;
  if (req.is_multipart_form_data()) {
    std::string* into = nullptr;  // the part being read
    ok = reader(
        [&](const httplib::MultipartFormData& part) {
          if (part.filename.empty()) {
            b.fields.emplace_back(part.name, "");
            into = &b.fields.back().second;
          } else {
            b.files.push_back({part.name, part.filename, ""});
            into = &b.files.back().content;
          }
          return true;
        },
        [&](const char* data, size_t n) {
          if (!within_bound(n)) return false;
          into->append(data, n);
          return true;
        });
  } else {
    ok = reader([&](const char* data, size_t n) {
      if (!within_bound(n)) return false;
      b.text.append(data, n);
      return true;
    });
  }
  // A Content-Length over the bound is refused by cpp-httplib itself (payload_max_length) after
  // it skipped the body; a chunked body is cut at the bound above.
  if (too_large || !ok) res.set_header("Connection", "close");
  const std::string length = req.get_header_value("Content-Length");
  if (too_large || (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > uint64_t(max_bytes)))
    throw Error(Errc::kTooLarge,
                fmt::format("the request body is larger than {} bytes (--max-body-mb)", max_bytes));
  if (!ok)
    throw Error(Errc::kBadArgs, "the request body could not be read (cut short, or a broken multipart form)");
  return b;
}

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& j) {
  res.status = status;
  res.set_content(serve::dump(j), "application/json");
}

void send_error(httplib::Response& res, const Error& e) {
  send_json(res, serve::http_status(e.code(), e.detail()), serve::error_object(e));
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& code) {
  send_json(res, status, serve::error_object(status, message, code));
}

Waited wait_for_result(const std::future<GenerateResult>& result, Flight& f,
                       const serve::ClientSocket& client, std::chrono::steady_clock::time_point deadline,
                       bool want_text) {
  using namespace std::chrono_literals;
  while (true) {
    if (result.wait_for(0s) == std::future_status::ready) return Waited::kDone;
    {
      std::unique_lock lock(f.mutex);
      // Woken by new text; otherwise every 50 ms to look at the client and the clock.
      f.changed.wait_for(lock, 50ms, [&] { return want_text && !f.pending.empty(); });
      if (want_text && !f.pending.empty()) return Waited::kText;
    }
    Waited w = Waited::kDone;
    if (client.gone())
      w = Waited::kClientGone;
    else if (std::chrono::steady_clock::now() > deadline)
      w = Waited::kTimeout;
    else if (f.state.cancel_all)
      w = Waited::kShutdown;
    if (w != Waited::kDone) {
      f.cancel = true;
      return w;
    }
  }
}

serve::ClientSocket client_socket(const httplib::Request& req) {
  return serve::ClientSocket::find(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
}

void send_not_done(httplib::Response& res, Waited w, int timeout_s) {
  if (w == Waited::kTimeout)
    send_error(
        res, 503,
        fmt::format("the request did not finish within {} s (--timeout-s); it was cancelled", timeout_s),
        "timeout");
  else if (w == Waited::kShutdown)
    send_error(res, 503, "the server is shutting down; the request was cancelled", "shutting_down");
  else
    res.status = 499;  // the client closed the connection: nobody reads this (nginx's code, for the log)
}

GenerateResult take_result(std::future<GenerateResult>& f) {
  try {
    return f.get();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(Errc::kOutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    throw Error(Errc::kInternal, e.what());
  }
}

}  // namespace fvlm::cli
