// The HTTP side the routes share, on cpp-httplib: reading a body within the size bound, answering
// with an error object, and waiting for the engine while watching the client, the deadline and
// the drain.
#pragma once
#include <httplib.h>

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/serve/client_socket.h"
#include "cli/serve_state.h"
#include "core/error.h"

namespace fvlm::cli {

// A request body read through cpp-httplib's ContentReader: at most max_body_bytes, plain or
// multipart/form-data. Throws Error{kTooLarge} past the bound, Error{kBadArgs} for a body that
// cannot be read (a broken multipart form, a connection cut short).
struct Body {
  std::string text;                                         // plain body
  std::vector<std::pair<std::string, std::string>> fields;  // multipart text fields
  struct File {
    std::string name, filename;
    std::string content;
  };
  std::vector<File> files;  // multipart file parts
};
// On a failure `res` gets "Connection: close": the rest of the body is unread.
Body read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
               int64_t max_bytes);

// Writes `j` as the JSON answer with `status`.
void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& j);
// OpenAI's error object for `e` with its status (serve/openai_response.h).
void send_error(httplib::Response& res, const Error& e);
void send_error(httplib::Response& res, int status, const std::string& message, const std::string& code);

// Why waiting for a request's result stopped.
enum class Waited { kDone, kText, kClientGone, kTimeout, kShutdown };

// Waits for `result`, or (want_text) for the first text. On the client gone, the deadline passed
// or the drain's grace over, the flight is cancelled (the engine ends it at its next token) and
// the wait returns at once.
Waited wait_for_result(const std::future<GenerateResult>& result, Flight& f,
                       const serve::ClientSocket& client, std::chrono::steady_clock::time_point deadline,
                       bool want_text);

// The socket of this request (for wait_for_result).
serve::ClientSocket client_socket(const httplib::Request& req);

// The status and message for a wait that ended without a result (timeout, shutdown); 0 when the
// client is gone (nobody to answer).
void send_not_done(httplib::Response& res, Waited w, int timeout_s);

// The result or the request's Error as thrown; std::bad_alloc becomes Error{kOutOfMemory}, any
// other exception Error{kInternal}.
GenerateResult take_result(std::future<GenerateResult>& f);

}  // namespace fvlm::cli
