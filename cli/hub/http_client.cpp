#include "cli/hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "core/error.h"

namespace fvlm::hub {
namespace {

constexpr size_t kMaxBufferedBody = size_t(64) << 20;
// A connection that moves fewer than 1 byte/s for 30 s is dead: give it up and let the caller
// resume with a range, instead of hanging forever on a silent peer.
constexpr long kConnectTimeoutS = 15, kStallSeconds = 30;

struct Transfer {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  HttpResponse* res = nullptr;
  bool sink_refused = false;
};

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// Called once per header line of every response (redirect hops included): a status line starts a
// new response, so `headers` ends up holding the last one's.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->res->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    t->res->headers[name] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->res->status);
  const long status = t->res->status;
  if (t->sink && *t->sink && status >= 200 && status < 300) {
    if (!(*t->sink)(*t->res, data, bytes)) {
      t->sink_refused = true;
      return 0;  // curl reports CURLE_WRITE_ERROR
    }
  } else {
    if (t->res->body.size() + bytes > kMaxBufferedBody) return 0;
    t->res->body.append(data, bytes);
  }
  t->res->body_bytes += int64_t(bytes);
  return bytes;
}

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpResponse http_request(const HttpRequest& req, const BodySink& sink) {
  global_init_once();
  HttpResponse res;
  CURL* curl = curl_easy_init();
  FVLM_CHECK(curl != nullptr, "curl_easy_init");
  Transfer t{curl, &sink, &res, false};
  curl_slist* headers = nullptr;
  for (const std::string& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  const std::string range = req.range_from >= 0 ? std::to_string(req.range_from) + "-" : "";
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "fastvlm/" FVLM_VERSION);
  curl_easy_setopt(curl, CURLOPT_NOBODY, req.head ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  // Only http(s), also after a redirect: a Location must not reach file:// or other schemes.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (!range.empty()) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
  if (rc != CURLE_OK && !t.sink_refused) res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (t.sink_refused) res.error = "stopped by the receiver";
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return res;
}

}  // namespace fvlm::hub
