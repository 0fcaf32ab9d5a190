// Load on a running `fastvlm serve`: N concurrent clients (16) send chat completions (an image +
// a question, not streamed) on loopback until a time or request budget is spent. Prints the
// failed count, latency p50/p99, aggregate completion tokens/s, and the server's RSS (from
// /proc/PID/status) every 100 requests: flat RSS over 500 requests = no per-request leak.
// Asserts nothing.
//   build/bench_serve --url http://127.0.0.1:8080 --pid PID [--clients 16] [--seconds 120]
//                     [--requests 500] [--image PATH] [--max-tokens 16] [--api-key KEY]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace {

using Clock = std::chrono::steady_clock;

long rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url = "http://127.0.0.1:8080", image = FVLM_BENCH_DEFAULT_IMAGE, key;
  int pid = 0, clients = 16, seconds = 120, requests = 500, max_tokens = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--url")
      url = v;
    else if (a == "--pid")
      pid = std::stoi(v);
    else if (a == "--clients")
      clients = std::stoi(v);
    else if (a == "--seconds")
      seconds = std::stoi(v);
    else if (a == "--requests")
      requests = std::stoi(v);
    else if (a == "--image")
      image = v;
    else if (a == "--max-tokens")
      max_tokens = std::stoi(v);
    else if (a == "--api-key")
      key = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::ifstream in(image, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    std::fprintf(stderr, "cannot read %s\n", image.c_str());
    return 2;
  }
  const nlohmann::json body = {
      {"model", "fastvlm"},
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "Describe the image."}},
           {{"type", "image_url"},
            {"image_url", {{"url", "data:image/png;base64," + fvlm::base64_encode(bytes)}}}}}}}}},
      {"max_tokens", max_tokens},
      {"ignore_eos", true}};
  const std::string payload = body.dump();

  std::atomic<int> started{0}, failed{0};
  std::atomic<long> tokens{0};
  std::mutex m;
  std::vector<double> latencies;
  std::vector<std::pair<int, long>> rss;  // (requests done, KB)
  if (pid > 0) rss.push_back({0, rss_kb(pid)});
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      httplib::Client cli(url);
      cli.set_read_timeout(600, 0);
      cli.set_write_timeout(60, 0);
      if (!key.empty()) cli.set_bearer_token_auth(key.c_str());
      while (Clock::now() < end && started.fetch_add(1) < requests) {
        const auto t = Clock::now();
        const auto res = cli.Post("/v1/chat/completions", payload, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
        if (!res || res->status != 200) {
          ++failed;
          std::fprintf(stderr, "failed: %s\n",
                       res ? (std::to_string(res->status) + " " + res->body).c_str()
                           : httplib::to_string(res.error()).c_str());
          continue;
        }
        const auto j = nlohmann::json::parse(res->body, nullptr, false);
        tokens += j.is_object() ? j["usage"]["completion_tokens"].get<long>() : 0;
        std::lock_guard lock(m);
        latencies.push_back(ms);
        if (pid > 0 && latencies.size() % 100 == 0) rss.push_back({int(latencies.size()), rss_kb(pid)});
      }
    });
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("clients %d, %zu requests ok, %d failed, %.1f s\n", clients, latencies.size(), failed.load(),
              wall);
  std::printf("latency p50 %.0f ms, p99 %.0f ms; %.1f completion tokens/s aggregate (%ld tokens)\n",
              percentile(latencies, 0.50), percentile(latencies, 0.99), double(tokens) / wall, tokens.load());
  if (!rss.empty()) {
    std::printf("server RSS (MB) after N requests:");
    for (const auto& [n, kb] : rss) std::printf("  %d: %.1f", n, double(kb) / 1024.0);
    std::printf("\n");
  }
  nlohmann::json summary = {{"clients", clients},
                            {"ok", latencies.size()},
                            {"failed", failed.load()},
                            {"seconds", wall},
                            {"p50_ms", percentile(latencies, 0.50)},
                            {"p99_ms", percentile(latencies, 0.99)},
                            {"completion_tokens_per_s", double(tokens) / wall}};
  for (const auto& [n, kb] : rss) summary["rss_mb"][std::to_string(n)] = double(kb) / 1024.0;
  std::printf("%s\n", summary.dump().c_str());
  return 0;
}
