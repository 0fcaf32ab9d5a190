// models/model_cache: repository ids, the cache folders from the environment, and `-m REPO[:TYPE]`
// resolution order (converted pair first, then the HF snapshot), on folders made here.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "core/error.h"
#include "models/model_cache.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace fvlm;

namespace {

// Points HF_HOME and XDG_CACHE_HOME at a fresh folder for the test's lifetime.
struct CacheEnv {
  std::string root;
  explicit CacheEnv(const std::string& name) : root(test::temp_path(name)) {
    fs::remove_all(root);
    fs::create_directories(root);
    ::setenv("HF_HOME", (root + "/hf").c_str(), 1);
    ::setenv("XDG_CACHE_HOME", (root + "/xdg").c_str(), 1);
    ::unsetenv("HF_HUB_CACHE");
  }
  ~CacheEnv() {
    ::unsetenv("HF_HOME");
    ::unsetenv("XDG_CACHE_HOME");
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

void touch(const fs::path& p, const std::string& content = "x") {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

}  // namespace

TEST_CASE("model_cache: repository ids are ORG/NAME in the Hub's alphabet, never a path") {
  const auto r = parse_repo_id("apple/FastVLM-0.5B");
  REQUIRE(r.has_value());
  CHECK(r->org == "apple");
  CHECK(r->name == "FastVLM-0.5B");
  CHECK(r->str() == "apple/FastVLM-0.5B");
  for (const char* bad : {"apple", "/abs/path", "./x", "a/b/c", "../etc", "a/..", "a/.hidden", "a b/c", "a/",
                          "https://huggingface.co/apple/x", "a/-x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_repo_id(bad).has_value());
  }
  CHECK_THROWS_AS(repo_id_or_throw("not-a-repo"), Error);
  CHECK(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  CHECK_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
  CHECK_FALSE(is_commit_hash("main"));
}

TEST_CASE("model_cache: folders follow HF_HUB_CACHE > HF_HOME/hub and XDG_CACHE_HOME/fastvlm") {
  const CacheEnv env("cache_dirs");
  const RepoId repo{"apple", "FastVLM-0.5B"};
  CHECK(hf_repo_dir(repo) == env.root + "/hf/hub/models--apple--FastVLM-0.5B");
  CHECK(converted_dir(repo, "c0ffee", "q4_0") ==
        env.root + "/xdg/fastvlm/models/apple--FastVLM-0.5B/c0ffee/q4_0");
  ::setenv("HF_HUB_CACHE", (env.root + "/elsewhere").c_str(), 1);
  CHECK(hf_repo_dir(repo) == env.root + "/elsewhere/models--apple--FastVLM-0.5B");
  ::unsetenv("HF_HUB_CACHE");
}

TEST_CASE("model_cache: -m REPO opens refs/main's converted pair first, then its snapshot") {
  const CacheEnv env("cache_resolve");
  const RepoId repo{"org", "model"};
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  // Nothing cached: not_found naming the pull command.
  try {
    resolve_cached_model("org/model");
    FAIL("expected not_found");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kNotFound);
    CHECK(std::string(e.what()).find("fastvlm pull org/model") != std::string::npos);
  }
  touch(fs::path(hf_repo_dir(repo)) / "refs/main", commit);
  touch(fs::path(hf_snapshot_dir(repo, commit)) / "config.json", "{}");
  CHECK(read_hf_ref(repo, "main") == commit);
  CHECK(resolve_cached_model("org/model") == hf_snapshot_dir(repo, commit));
  for (const char* type : {"q4_0", "q8_0"}) {  // q8_0 preferred whatever came first
    touch(fs::path(converted_dir(repo, commit, type)) / "fastvlm-llm.gguf");
    touch(fs::path(converted_dir(repo, commit, type)) / "fastvlm-vision.gguf");
  }
  CHECK(resolve_cached_model("org/model") == converted_dir(repo, commit, "q8_0"));
  CHECK(resolve_cached_model("org/model:q4_0") == converted_dir(repo, commit, "q4_0"));
  CHECK(resolve_cached_model("org/model:none") == hf_snapshot_dir(repo, commit));
  CHECK_THROWS_AS(resolve_cached_model("org/model:bf16"), Error);
  CHECK_THROWS_AS(resolve_cached_model("org/model:q5_k"), Error);
  // A local folder of the same name wins over the cache.
  CHECK(names_cached_model("org/model"));
  const fs::path cwd = fs::current_path();
  fs::create_directories(fs::path(env.root) / "org/model");
  fs::current_path(env.root);
  CHECK_FALSE(names_cached_model("org/model"));
  fs::current_path(cwd);
}
