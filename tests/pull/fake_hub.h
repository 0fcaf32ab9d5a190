// A local imitation of the Hugging Face Hub for the pull tests: two cpp-httplib servers on
// 127.0.0.1 (ephemeral ports), the Hub and its CDN, speaking what huggingface_hub and fastvlm use:
//   GET  /api/models/{org}/{name}/revision/{rev}[?blobs=true] -> {"sha", "siblings": [{"rfilename",
//        "size", "lfs": {"sha256", "size"}}]}; 404 RepoNotFound, 401 GatedRepo without the token;
//   HEAD/GET /{org}/{name}/resolve/{rev}/{file} -> LFS files (*.safetensors): 302 to the CDN with
//        X-Linked-Etag (the sha256), X-Linked-Size, X-Repo-Commit; other files: 200 with ETag (the
//        git blob sha1) and X-Repo-Commit;
//   GET  {cdn}/blob/{sha256} -> the bytes, with HTTP ranges (206); 400 if a token reaches it.
// Faults to order: drop the connection once mid-file, serve corrupted bytes under the true sha256.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fvlm::test {

struct FakeRepo {
  std::string commit;                        // 40 hex digits
  std::map<std::string, std::string> files;  // repository path -> content
  bool gated = false;                        // needs "Authorization: Bearer <FakeHub::kToken>"
};

struct LoggedRequest {
  std::string server;  // "hub" | "cdn"
  std::string method, path, range, authorization;
};

class FakeHub {
 public:
  static constexpr const char* kToken = "hf_fake_token_for_tests";

  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  void add_repo(const std::string& id, FakeRepo repo);
  std::string endpoint() const;  // "http://127.0.0.1:<port>"

  // The CDN closes the connection after `byte` body bytes of `file`, on its next `times` answers.
  void drop_at(const std::string& file, int64_t byte, int times = 1);
  // The CDN serves `file` with one byte changed; the API still announces the true sha256.
  void corrupt(const std::string& file);

  std::vector<LoggedRequest> log() const;
  void clear_log();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// The golden tiny FastVLM checkpoint (../shared/golden/tiny/model) as a repository.
FakeRepo golden_fake_repo();
std::string sha256_hex(const std::string& data);

}  // namespace fvlm::test
