#include "tests/pull/fake_hub.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace fvlm::test {
namespace {

std::string digest_hex(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

// What git (and so the Hub's ETag of a non-LFS file) calls the file: sha1("blob <size>\0" + data).
std::string git_blob_sha1(const std::string& data) {
  return digest_hex(EVP_sha1(), "blob " + std::to_string(data.size()) + std::string(1, '\0') + data);
}

bool is_lfs(const std::string& name) { return name.size() > 12 && name.ends_with(".safetensors"); }

}  // namespace

std::string sha256_hex(const std::string& data) { return digest_hex(EVP_sha256(), data); }

struct FakeHub::State {
  httplib::Server hub, cdn;
  int hub_port = 0, cdn_port = 0;
  std::thread hub_thread, cdn_thread;
  mutable std::mutex mu;
  std::map<std::string, FakeRepo> repos;
  std::map<std::string, std::pair<int64_t, int>> drops;  // file -> (byte, times left)
  std::map<std::string, bool> corrupted;
  std::vector<LoggedRequest> log;

  // Recorded as the request arrives (a logger would run after the answer, racing the test).
  void record(const std::string& server, const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(
        {server, req.method, req.path, req.get_header_value("Range"), req.get_header_value("Authorization")});
  }

  // The repository `org/name` if the request may see it; else the Hub's error answer is set.
  const FakeRepo* repo_for(const httplib::Request& req, const std::string& id, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = repos.find(id);
    if (it == repos.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content(R"({"error":"Repository not found"})", "application/json");
      return nullptr;
    }
    if (it->second.gated && req.get_header_value("Authorization") != std::string("Bearer ") + kToken) {
      res.status = 401;
      res.set_header("X-Error-Code", "GatedRepo");
      res.set_header("X-Error-Message", "Access to model " + id + " is restricted.");
      res.set_content(R"({"error":"gated"})", "application/json");
      return nullptr;
    }
    return &it->second;
  }

  void api(const httplib::Request& req, httplib::Response& res) {
    const std::string id = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
    const std::string rev = req.matches[3];
    const FakeRepo* repo = repo_for(req, id, res);
    if (!repo) return;
    if (rev != "main" && rev != repo->commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      return;
    }
    nlohmann::json siblings = nlohmann::json::array();
    for (const auto& [name, data] : repo->files) {
      nlohmann::json s = {{"rfilename", name}, {"size", data.size()}, {"blobId", git_blob_sha1(data)}};
      if (is_lfs(name))
        s["lfs"] = {{"sha256", sha256_hex(data)}, {"size", data.size()}, {"pointerSize", 134}};
      siblings.push_back(s);
    }
    res.set_content(nlohmann::json{{"id", id}, {"sha", repo->commit}, {"siblings", siblings}}.dump(),
                    "application/json");
  }

  void resolve(const httplib::Request& req, httplib::Response& res) {
    const std::string id = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
    const std::string rev = req.matches[3], file = req.matches[4];
    const FakeRepo* repo = repo_for(req, id, res);
    if (!repo) return;
    auto f = repo->files.find(file);
    if ((rev != "main" && rev != repo->commit) || f == repo->files.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      return;
    }
    res.set_header("X-Repo-Commit", repo->commit);
    if (is_lfs(file)) {
      const std::string sha = sha256_hex(f->second);
      res.status = 302;
      res.set_header("Location", fmt::format("http://127.0.0.1:{}/blob/{}", cdn_port, sha));
      res.set_header("X-Linked-Etag", "\"" + sha + "\"");
      res.set_header("X-Linked-Size", std::to_string(f->second.size()));
      res.set_header("ETag", "\"" + git_blob_sha1(f->second) + "\"");  // the LFS pointer's, as the Hub
      return;
    }
    res.set_header("ETag", "\"" + git_blob_sha1(f->second) + "\"");
    res.set_content(f->second, "application/octet-stream");
  }

  void blob(const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Authorization")) {  // a signed CDN address must never receive the token
      res.status = 400;
      res.set_content("token sent to the CDN", "text/plain");
      return;
    }
    const std::string sha = req.matches[1];
    std::shared_ptr<std::string> data;
    int64_t drop = -1;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [id, repo] : repos)
        for (const auto& [name, content] : repo.files)
          if (is_lfs(name) && sha256_hex(content) == sha) {
            data = std::make_shared<std::string>(content);
            if (corrupted[name]) (*data)[data->size() / 2] ^= 0x5a;
            if (auto d = drops.find(name); d != drops.end() && d->second.second > 0) {
              drop = d->second.first;
              --d->second.second;
            }
          }
    }
    if (!data) {
      res.status = 404;
      return;
    }
    res.set_content_provider(data->size(), "application/octet-stream",
                             [data, drop](size_t offset, size_t length, httplib::DataSink& sink) {
                               size_t n = std::min<size_t>(length, 64 * 1024);
                               if (drop >= 0 && int64_t(offset + n) >= drop) {
                                 // Sends what comes before the drop point, then closes the connection.
                                 if (int64_t(offset) < drop)
                                   sink.write(data->data() + offset, size_t(drop) - offset);
                                 return false;
                               }
                               sink.write(data->data() + offset, n);
                               return true;
                             });
  }
};

FakeHub::FakeHub() : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.hub.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))",
            [&s](const httplib::Request& req, httplib::Response& res) {
              s.record("hub", req);
              s.api(req, res);
            });
  s.hub.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))",
            [&s](const httplib::Request& req, httplib::Response& res) {
              s.record("hub", req);
              s.resolve(req, res);
            });
  s.cdn.Get(R"(/blob/([0-9a-f]{64}))", [&s](const httplib::Request& req, httplib::Response& res) {
    s.record("cdn", req);
    s.blob(req, res);
  });
  s.hub_port = s.hub.bind_to_any_port("127.0.0.1");
  s.cdn_port = s.cdn.bind_to_any_port("127.0.0.1");
  REQUIRE(s.hub_port > 0);
  REQUIRE(s.cdn_port > 0);
  s.hub_thread = std::thread([&s] { s.hub.listen_after_bind(); });
  s.cdn_thread = std::thread([&s] { s.cdn.listen_after_bind(); });
  for (int i = 0; i < 500 && !(s.hub.is_running() && s.cdn.is_running()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(s.hub.is_running());
  REQUIRE(s.cdn.is_running());
}

FakeHub::~FakeHub() {
  state_->hub.stop();
  state_->cdn.stop();
  state_->hub_thread.join();
  state_->cdn_thread.join();
}

void FakeHub::add_repo(const std::string& id, FakeRepo repo) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->repos[id] = std::move(repo);
}

std::string FakeHub::endpoint() const { return fmt::format("http://127.0.0.1:{}", state_->hub_port); }

void FakeHub::drop_at(const std::string& file, int64_t byte, int times) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->drops[file] = {byte, times};
}

void FakeHub::corrupt(const std::string& file) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->corrupted[file] = true;
}

std::vector<LoggedRequest> FakeHub::log() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->log;
}

void FakeHub::clear_log() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->log.clear();
}

FakeRepo golden_fake_repo() {
  FakeRepo repo;
  repo.commit = "0123456789abcdef0123456789abcdef01234567";
  for (const auto& e : std::filesystem::directory_iterator(golden("tiny/model"))) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    repo.files[e.path().filename().string()] = ss.str();
  }
  repo.files["README.md"] = "# not part of a FastVLM directory: pull skips it\n";
  return repo;
}

}  // namespace fvlm::test
