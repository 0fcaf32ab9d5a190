// The routes of `fastvlm serve` on a cpp-httplib server: GET /health, GET /v1/models,
// POST /v1/chat/completions, POST /v1/fastvlm/{describe,count,ocr,ask}; and the guards every
// request passes before its body is read (route, method, API key, content type and encoding,
// loading / draining).
#pragma once
#include <httplib.h>

#include <string>

#include "cli/serve_state.h"

namespace fvlm::cli {

void add_serve_routes(httplib::Server& svr, ServeState& s);

// Route handlers (serve_chat.cpp, serve_tasks.cpp). They throw fvlm::Error for the route wrapper
// to answer.
void handle_chat(ServeState& s, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader);
void handle_task(ServeState& s, const std::string& task, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader);

// An error answer in the route's own format: the CLI's error object under /v1/fastvlm/, OpenAI's
// elsewhere.
void send_route_error(const httplib::Request& req, httplib::Response& res, int status,
                      const std::string& message, const std::string& code);

}  // namespace fvlm::cli
