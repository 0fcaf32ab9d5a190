// One HTTP(S) request through libcurl: the only code of fastvlm that opens a network connection.
// Transport failures (no route, refused, reset mid-body, stalled) come back in `error`, not as
// exceptions: the caller knows whether a retry with a range can continue the transfer.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fvlm::hub {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool head = false;                 // HEAD instead of GET
  bool follow_redirects = false;
  int64_t range_from = -1;  // >= 0: "Range: bytes=N-"
};

struct HttpResponse {
  long status = 0;                             // of the last response; 0 when none arrived
  std::map<std::string, std::string> headers;  // of the last response, names lower-case
  std::string body;        // error bodies, and whole bodies when no sink was given (capped at 64 MiB)
  std::string error;       // non-empty: the transfer failed (curl's message)
  int64_t body_bytes = 0;  // bytes handed to the sink (2xx) or kept in body
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Receives a 2xx body piece by piece, with the response's status and headers (`head.body` empty);
// returning false aborts the transfer. It must not throw (it runs inside libcurl).
using BodySink = std::function<bool(const HttpResponse& head, const char* data, size_t n)>;

// Performs the request. With a sink, a 2xx body goes to the sink and any other body to `body`.
HttpResponse http_request(const HttpRequest& req, const BodySink& sink = {});

}  // namespace fvlm::hub
