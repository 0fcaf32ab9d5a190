// Requests an adversary (or a buggy client) sends: each gets its HTTP status and OpenAI's error
// object, and the server is still healthy afterwards. Also the queue bound (429) and a client that
// disconnects (its request is cancelled).
#include <doctest/doctest.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/base64.h"
#include "tests/e2e/cli_runner.h"
#include "tests/serve/serve_fixture.h"
#include "tests/test_util.h"

using namespace fvlm::test;
using nlohmann::json;

namespace {

void put_be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += char((v >> (8 * i)) & 0xff);
}

void put_chunk(std::string& png, const char* type, const std::string& data) {
  put_be32(png, uint32_t(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  put_be32(png, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

// A real decompression bomb: a valid RGB PNG of side x side black pixels (over the 100 MP
// default limit at 11000), a few hundred KB compressed, gigabytes if decoded. Made row by row so
// the test itself never holds the pixels.
std::string bomb_png(uint32_t side) {
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put_be32(ihdr, side);
  put_be32(ihdr, side);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, no interlace
  put_chunk(png, "IHDR", ihdr);
  z_stream z{};
  REQUIRE(deflateInit(&z, 9) == Z_OK);
  const std::string row(1 + size_t(side) * 3, '\0');  // filter byte 0 + the pixels
  std::string idat;
  std::vector<unsigned char> out(1 << 16);
  for (uint32_t y = 0; y < side; ++y) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(row.data()));
    z.avail_in = uInt(row.size());
    const int flush = y + 1 == side ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = out.data();
      z.avail_out = uInt(out.size());
      deflate(&z, flush);
      idat.append(reinterpret_cast<char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", "");
  return png;
}

json chat_with_url(const std::string& url, int max_tokens = 2) {
  return {{"messages",
           {{{"role", "user"},
             {"content",
              {{{"type", "text"}, {"text", "What is it?"}},
               {{"type", "image_url"}, {"image_url", {{"url", url}}}}}}}}},
          {"max_tokens", max_tokens}};
}

void check_error(const Http& h, int status, const std::string& code) {
  CHECK(h.status == status);
  REQUIRE_MESSAGE(h.json.is_object(), "not JSON: " << h.body.substr(0, 300));
  REQUIRE(h.json.contains("error"));
  CHECK(h.json["error"]["code"] == code);
  CHECK(h.json["error"]["message"].is_string());
  CHECK(h.json["error"]["type"].is_string());
  CHECK(h.json["error"].contains("param"));
}

}  // namespace

TEST_CASE("serve: each bad request gets its status and error object, and the server stays healthy") {
  namespace fs = std::filesystem;
  const fs::path allowed = temp_path("serve_allowed"), outside = temp_path("serve_outside.png");
  fs::remove_all(allowed);
  fs::create_directories(allowed);
  fs::copy_file(golden_image("wide.png"), allowed / "in.png");
  fs::copy_file(golden_image("wide.png"), outside, fs::copy_options::overwrite_existing);
  ServeProcess server("--allow-files " + shell_quote(allowed.string()));
  const std::string chat = server.url("/v1/chat/completions");
  const std::string big = temp_path("serve_30mb.json");
  {
    std::ofstream f(big, std::ios::binary);
    f << R"({"messages":[{"role":"user","content":")" << std::string(30 << 20, 'a') << R"("}]})";
  }
  const std::string bomb = "data:image/png;base64," + fvlm::base64_encode(bomb_png(11000));
  MESSAGE("decompression bomb: " << bomb.size()
                                 << " bytes of data URI for 11000 x 11000 RGB (363 MB of pixels)");
  struct Case {
    std::string name;
    std::function<Http()> send;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", [&] { return post_json(chat, R"({"messages": [)"); }, 400, "bad_args"},
      {"not an object", [&] { return post_json(chat, "[1, 2]"); }, 400, "bad_args"},
      {"wrong content type",
       [&] { return curl(chat, "-H 'Content-Type: text/plain' --data-binary '{\"messages\":[]}'"); }, 415,
       "unsupported_media_type"},
      {"no content type", [&] { return curl(chat, "-H 'Content-Type:' --data-binary '{}'"); }, 415,
       "unsupported_media_type"},
      {"compressed body",
       [&] {
         return curl(chat,
                     "-H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary 'x'");
       },
       415, "unsupported_media_type"},
      {"30 MB body (Expect: 100-continue)",
       [&] { return curl(chat, "-H 'Content-Type: application/json' --data-binary @" + shell_quote(big)); },
       413, "too_large"},
      {"30 MB body (sent at once)",
       [&] {
         return curl(chat,
                     "-H 'Content-Type: application/json' -H 'Expect:' --data-binary @" + shell_quote(big));
       },
       413, "too_large"},
      {"30 MB body (chunked)",
       [&] {
         return curl(chat,
                     "-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @" +
                         shell_quote(big));
       },
       413, "too_large"},
      {"decompression-bomb image", [&] { return post_json(chat, chat_with_url(bomb).dump()); }, 413,
       "too_large"},
      {"corrupt image",
       [&] { return post_json(chat, chat_with_url("data:image/png;base64,iVBORw0KGgoAAAA=").dump()); }, 422,
       "bad_image"},
      {"http URL", [&] { return post_json(chat, chat_with_url("http://127.0.0.1:1/x.png").dump()); }, 400,
       "bad_args"},
      {"https URL", [&] { return post_json(chat, chat_with_url("https://example.com/x.png").dump()); }, 400,
       "bad_args"},
      {"file:// outside the allowed folder",
       [&] { return post_json(chat, chat_with_url("file://" + outside.string()).dump()); }, 400, "bad_args"},
      {"../ in a path",
       [&] { return post_json(chat, chat_with_url("../" + outside.filename().string()).dump()); }, 400,
       "bad_args"},
      {"../ inside the folder", [&] { return post_json(chat, chat_with_url("x/../in.png").dump()); }, 400,
       "bad_args"},
      {"a missing file", [&] { return post_json(chat, chat_with_url("nope.png").dump()); }, 404, "not_found"},
      {"negative max_tokens",
       [&] { return post_json(chat, R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":-1})"); },
       400, "bad_args"},
      {"a prompt longer than the context",
       [&] {
         return post_json(chat,
                          json({{"messages",
                                 {{{"role", "user"},
                                   {"content", std::string(40000, 'x') + " " + std::string(40000, 'y')}}}}})
                              .dump());
       },
       400, "context_length_exceeded"},
      {"two images",
       [&] {
         json b = chat_with_url("file://" + (allowed / "in.png").string());
         b["messages"][0]["content"].push_back({{"type", "image_url"}, {"image_url", {{"url", "in.png"}}}});
         return post_json(chat, b.dump());
       },
       400, "bad_args"},
      {"unknown route", [&] { return curl(server.url("/v1/completions"), "-X POST"); }, 404, "not_found"},
      {"wrong method", [&] { return curl(server.url("/v1/chat/completions")); }, 405, "method_not_allowed"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    check_error(c.send(), c.status, c.code);
    CHECK(healthy(server));
  }
  // The allowed file itself is read.
  const Http ok = post_json(chat, chat_with_url("in.png").dump());
  CHECK(ok.status == 200);
  CHECK(ok.json["usage"]["completion_tokens"].get<int>() >= 1);
  // The task routes answer the CLI's error object.
  const Http task = curl(server.url("/v1/fastvlm/ask"), "-F image=@" + shell_quote(golden_image("wide.png")));
  CHECK(task.status == 400);
  CHECK(task.json["ok"] == false);
  CHECK(task.json["error"]["code"] == "bad_args");
  fs::remove(big);
  fs::remove_all(allowed);
  fs::remove(outside);
  CHECK(healthy(server));
  // No prompt and no image bytes in the access log (without -v).
  const std::string log = server.stderr_text();
  CHECK(log.find("\"POST /v1/chat/completions\" 400") != std::string::npos);
  CHECK(log.find("What is it?") == std::string::npos);
  CHECK(log.find("iVBORw0KGgo") == std::string::npos);
}

TEST_CASE("serve: --api-key: every route but /health needs the Bearer key") {
  ServeProcess server("", "FASTVLM_API_KEY=k-123");
  check_error(curl(server.url("/v1/models")), 401, "invalid_api_key");
  check_error(curl(server.url("/v1/models"), "-H 'Authorization: Bearer k-124'"), 401, "invalid_api_key");
  check_error(curl(server.url("/v1/models"), "-H 'Authorization: k-123'"), 401, "invalid_api_key");
  check_error(
      post_json(server.url("/v1/chat/completions"), R"({"messages":[{"role":"user","content":"hi"}]})"), 401,
      "invalid_api_key");
  CHECK(curl(server.url("/health")).status == 200);
  const Http ok = curl(server.url("/v1/models"), "-H 'Authorization: Bearer k-123'");
  CHECK(ok.status == 200);
  CHECK(ok.json["data"][0]["id"] == "model");
}

TEST_CASE("serve: a full queue answers 429, and a client that disconnects cancels its request") {
  ServeProcess server("--max-queue 1");
  const std::string chat = server.url("/v1/chat/completions");
  const json longer = {{"messages", {{{"role", "user"}, {"content", "Count to a million."}}}},
                       {"max_tokens", 8000},
                       {"ignore_eos", true},
                       {"stream", true}};
  const std::string body = temp_path("serve_long.json");
  std::ofstream(body) << longer.dump();
  // A streaming client that gives up after 3 s (curl -m), in the background.
  const std::string cmd = "curl -sN -m 3 -H 'Content-Type: application/json' --data-binary @" +
                          shell_quote(body) + " " + shell_quote(chat) + " > /dev/null 2>&1 &";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto admitted = [&] { return curl(server.url("/health")).json.value("admitted", -1); };
  const auto in_flight = [&] { return curl(server.url("/health")).json.value("in_flight", -1); };
  for (int i = 0; i < 100 && admitted() != 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(admitted() == 1);
  check_error(post_json(chat, R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1})"), 429,
              "queue_full");
  // The client goes at 3 s; 8000 tokens take far longer, so only a cancel frees the slot this soon.
  // The admission and the engine's count are released by different threads (the request's last
  // owner, the engine's loop), a moment apart: wait for both.
  const auto t0 = std::chrono::steady_clock::now();
  while ((admitted() != 0 || in_flight() != 0) &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(admitted() == 0);
  CHECK(in_flight() == 0);
  std::filesystem::remove(body);
  const Http after = post_json(chat, R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":1})");
  CHECK(after.status == 200);
}

TEST_CASE("serve: --timeout-s: a request not done in time is cancelled with 503 timeout") {
  ServeProcess server("--timeout-s 1");
  const Http h =
      post_json(server.url("/v1/chat/completions"),
                R"({"messages":[{"role":"user","content":"Go on."}],"max_tokens":8000,"ignore_eos":true})");
  check_error(h, 503, "timeout");
  // The engine drops the cancelled sequence at its next token: the slot comes back.
  int admitted = -1;
  for (int i = 0; i < 100 && admitted != 0; ++i) {
    admitted = curl(server.url("/health")).json.value("admitted", -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(admitted == 0);
  CHECK(healthy(server));
}

TEST_CASE("serve: a client that leaves a non-streamed request cancels it too") {
  ServeProcess server;
  // curl gives up after 2 s; the 8000 tokens asked for would take far longer.
  const Http gone = post_json(
      server.url("/v1/chat/completions"),
      R"({"messages":[{"role":"user","content":"Go on."}],"max_tokens":8000,"ignore_eos":true})", "-m 2");
  CHECK(gone.status == 0);  // no answer: the client left
  int admitted = -1;
  bool logged = false;  // the access log's line for a request whose client left
  for (int i = 0; i < 60 && (admitted != 0 || !logged); ++i) {
    admitted = curl(server.url("/health")).json.value("admitted", -1);
    logged = server.stderr_text().find("\"POST /v1/chat/completions\" 499") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(admitted == 0);
  CHECK(logged);
}
