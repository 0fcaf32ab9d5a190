#include "cli/serve_routes.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/engine_report.h"
#include "cli/output.h"
#include "cli/serve/auth.h"
#include "cli/serve/openai_response.h"
#include "cli/serve_http.h"

namespace fvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Route {
  std::string_view method, path;
};
constexpr Route kRoutes[] = {{"GET", "/health"},
                             {"GET", "/v1/models"},
                             {"POST", "/v1/chat/completions"},
                             {"POST", "/v1/fastvlm/ask"},
                             {"POST", "/v1/fastvlm/describe"},
                             {"POST", "/v1/fastvlm/count"},
                             {"POST", "/v1/fastvlm/ocr"}};
constexpr std::string_view kTaskPrefix = "/v1/fastvlm/";

// The access log's clock: each request is handled on one thread from the guard to the log line.
thread_local Clock::time_point t_started;

struct Refusal {
  int status;
  std::string message, code;
};

bool has_body(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  return req.has_header("Transfer-Encoding") ||
         (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > 0);
}

std::string media_type(const httplib::Request& req) {
  std::string t = req.get_header_value("Content-Type");
  t = t.substr(0, t.find(';'));
  t.erase(t.find_last_not_of(" \t") + 1);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return t;
}

// Every check that needs no body, in the order a client should hear about them. `check_length`:
// the body has not been sent yet (Expect: 100-continue), so a declared size over the bound is
// refused before it is.
std::optional<Refusal> guard(const ServeState& s, const httplib::Request& req, bool check_length) {
  const Route* route = nullptr;
  bool path_known = false;
  for (const Route& r : kRoutes) {
    path_known |= r.path == req.path;
    if (r.path == req.path && r.method == req.method) route = &r;
  }
  if (!path_known) return Refusal{404, fmt::format("no route {} {:.200}", req.method, req.path), "not_found"};
  if (!route)
    return Refusal{405, fmt::format("{} does not take {}", req.path, req.method), "method_not_allowed"};
  if (req.path != "/health" && !serve::authorized(req.get_header_value("Authorization"), s.settings.api_key))
    return Refusal{401, "a valid API key is required: Authorization: Bearer KEY", "invalid_api_key"};
  if (req.path == "/health") return std::nullopt;  // answers loading / draining itself
  if (s.draining) return Refusal{503, "the server is shutting down", "shutting_down"};
  if (!s.ready) return Refusal{503, "the model is loading; retry when GET /health says ok", "loading"};
  if (route->method == "GET") {
    if (has_body(req)) return Refusal{400, "a GET request takes no body", "bad_args"};
    return std::nullopt;
  }
  const std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity")
    return Refusal{
        415, fmt::format("Content-Encoding '{:.32}' is not accepted: send the body uncompressed", encoding),
        "unsupported_media_type"};
  const std::string transfer = req.get_header_value("Transfer-Encoding");
  if (!transfer.empty() && transfer != "chunked")
    return Refusal{400, fmt::format("Transfer-Encoding '{:.32}' is not accepted", transfer), "bad_args"};
  const std::string type = media_type(req);
  const bool task = req.path.rfind(kTaskPrefix, 0) == 0;
  if (type != "application/json" && !(task && type == "multipart/form-data"))
    return Refusal{415,
                   fmt::format("Content-Type must be application/json{}, got '{:.64}'",
                               task ? " or multipart/form-data" : "", req.get_header_value("Content-Type")),
                   "unsupported_media_type"};
  if (check_length) {
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > uint64_t(s.settings.max_body_bytes))
      return Refusal{
          413,
          fmt::format("the request body is larger than {} bytes (--max-body-mb)", s.settings.max_body_bytes),
          "too_large"};
  }
  return std::nullopt;
}

void refuse(const httplib::Request& req, httplib::Response& res, const Refusal& r) {
  send_route_error(req, res, r.status, r.message, r.code);
  if (r.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  // The body was not read: the connection cannot carry another request after this one.
  if (has_body(req)) res.set_header("Connection", "close");
}

template <class Fn>
void guarded(const httplib::Request& req, httplib::Response& res, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (req.path.rfind(kTaskPrefix, 0) == 0)
      send_route_error(req, res, serve::http_status(e.code(), e.detail()), e.what(),
                       std::string(errc_name(e.code())));
    else
      send_error(res, e);  // OpenAI's object, with "param"
  } catch (const std::bad_alloc&) {
    send_route_error(req, res, 503, "out of memory", "out_of_memory");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    send_route_error(req, res, 500, e.what(), "internal");
  }
}

void health(const ServeState& s, httplib::Response& res) {
  if (s.draining) return send_json(res, 503, {{"status", "draining"}});
  if (!s.ready) return send_json(res, 503, {{"status", "loading"}});
  send_json(res, 200,
            {{"status", "ok"},
             {"model", s.model_id},
             {"in_flight", s.engine->in_flight()},
             {"admitted", s.admitted.load()},
             {"max_queue", s.settings.max_queue},
             {"engine", engine_json(*s.engine)}});
}

void models(const ServeState& s, httplib::Response& res) {
  nlohmann::ordered_json m = {
      {"id", s.model_id}, {"object", "model"}, {"created", s.created}, {"owned_by", "fastvlm"}};
  send_json(res, 200, {{"object", "list"}, {"data", {m}}});
}

}  // namespace

void send_route_error(const httplib::Request& req, httplib::Response& res, int status,
                      const std::string& message, const std::string& code) {
  if (req.path.rfind(kTaskPrefix, 0) == 0) {
    nlohmann::ordered_json j = {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
    return send_json(res, status, j);
  }
  send_error(res, status, message, code);
}

void add_serve_routes(httplib::Server& svr, ServeState& s) {
  svr.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    t_started = Clock::now();
    const auto r = guard(s, req, /*check_length=*/false);
    if (!r) return httplib::Server::HandlerResponse::Unhandled;
    refuse(req, res, *r);
    return httplib::Server::HandlerResponse::Handled;
  });
  // curl and others ask before sending a large body: refuse before it is sent.
  svr.set_expect_100_continue_handler([&s](const httplib::Request& req, httplib::Response& res) {
    t_started = Clock::now();
    const auto r = guard(s, req, /*check_length=*/true);
    if (!r) return 100;
    refuse(req, res, *r);
    return r->status;
  });
  // cpp-httplib's own refusals (a malformed request line, a URI too long, an oversized body it
  // skipped) get the error object too.
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_route_error(req, res, res.status,
                         res.status == 413 ? "the request body is too large (--max-body-mb)"
                                           : fmt::format("the request was refused (HTTP {})", res.status),
                         res.status == 413 ? "too_large" : "bad_request");
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const double ms = t_started == Clock::time_point{}
                          ? 0.0
                          : std::chrono::duration<double, std::milli>(Clock::now() - t_started).count();
    t_started = {};
    spdlog::info("{} \"{} {:.200}\" {} {:.1f} ms", req.remote_addr, req.method, req.path, res.status, ms);
  });
  svr.Get("/health", [&s](const httplib::Request&, httplib::Response& res) { health(s, res); });
  svr.Get("/v1/models", [&s](const httplib::Request&, httplib::Response& res) { models(s, res); });
  svr.Post("/v1/chat/completions",
           [&s](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
             guarded(req, res, [&] { handle_chat(s, req, res, reader); });
           });
  for (const char* task : {"ask", "describe", "count", "ocr"})
    svr.Post(std::string(kTaskPrefix) + task, [&s, task](const httplib::Request& req, httplib::Response& res,
                                                         const httplib::ContentReader& reader) {
      guarded(req, res, [&] { handle_task(s, task, req, res, reader); });
    });
}

}  // namespace fvlm::cli
