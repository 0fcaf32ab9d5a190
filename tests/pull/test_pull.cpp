// `fastvlm pull`, `list`, `rm` and `-m REPO` against a local imitation of the Hub (fake_hub.h):
// the real binary, the real HTTP stack, a throw-away HF_HOME and XDG_CACHE_HOME per test.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/e2e/cli_runner.h"
#include "tests/pull/fake_hub.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace fvlm::test;

namespace {

constexpr const char* kRepo = "fake-org/FastVLM-tiny";
constexpr const char* kWeights = "model.safetensors";

// A cache of its own for one test, and the environment that points the binary at it and the fake
// Hub (a token, offline mode or cache folders of the caller's environment must not leak in).
struct Sandbox {
  std::string root;
  explicit Sandbox(const std::string& name) : root(temp_path(name)) {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::string env(const FakeHub& hub, const std::string& extra = "") const {
    return fmt::format(
        "-u HF_TOKEN -u HUGGING_FACE_HUB_TOKEN -u HF_HUB_OFFLINE -u HF_HUB_CACHE -u HF_TOKEN_PATH "
        "-u FASTVLM_MODEL HF_ENDPOINT={} HF_HOME={}/hf XDG_CACHE_HOME={}/xdg {}",
        hub.endpoint(), root, root, extra);
  }
  fs::path repo_dir() const { return fs::path(root) / "hf/hub/models--fake-org--FastVLM-tiny"; }
  fs::path converted(const std::string& commit, const std::string& type) const {
    return fs::path(root) / "xdg/fastvlm/models/fake-org--FastVLM-tiny" / commit / type;
  }
};

std::string message_of(const CliRun& r) {
  return r.lines.size() == 1 ? r.lines[0]["error"].value("message", std::string()) : r.stdout_text;
}

// A pull with a shell prefix (ulimit) before the binary.
CliRun run_shell_pull(const std::string& prefix, const std::string& env, const std::string& args) {
  CliRun r;
  r.exit_code = run_command(prefix + " exec env " + env + " " + quoted_cli() + " " + args + " 2>/dev/null",
                            r.stdout_text);
  std::istringstream in(r.stdout_text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return r;
}

std::vector<LoggedRequest> cdn_requests(const FakeHub& hub) {
  std::vector<LoggedRequest> out;
  for (const LoggedRequest& r : hub.log())
    if (r.server == "cdn") out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("pull: the files land in the HF cache layout, verified and converted, and -m REPO runs them") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const Sandbox box("pull_full");
  const CliRun r = run_cli_with_env(box.env(hub), fmt::format("pull {} --type q8_0", kRepo));
  REQUIRE(r.lines.size() == 1);
  INFO(r.stdout_text);
  CHECK(r.exit_code == 0);
  CHECK(r.lines[0]["ok"] == true);
  CHECK(r.lines[0]["commit"] == repo.commit);
  CHECK(file_bytes(box.repo_dir() / "refs/main") == repo.commit);  // huggingface_hub's ref: no newline
  const fs::path snapshot = box.repo_dir() / "snapshots" / repo.commit;
  for (const auto& [name, data] : repo.files) {
    CAPTURE(name);
    if (name == "README.md") {
      CHECK_FALSE(fs::exists(snapshot / name));  // not part of a FastVLM directory
      continue;
    }
    REQUIRE(fs::is_symlink(snapshot / name));
    const std::string target = fs::read_symlink(snapshot / name).string();
    CHECK(target.rfind("../../blobs/", 0) == 0);
    CHECK(file_bytes(snapshot / name) == data);
  }
  // LFS files are stored under their sha256, as huggingface_hub names them.
  CHECK(fs::read_symlink(snapshot / kWeights).string() ==
        "../../blobs/" + sha256_hex(repo.files.at(kWeights)));
  for (const auto& e : fs::directory_iterator(box.repo_dir() / "blobs"))
    CHECK(e.path().extension() != ".incomplete");
  const fs::path converted = box.converted(repo.commit, "q8_0");
  CHECK(r.lines[0]["model"] == converted.string());
  CHECK(fs::is_regular_file(converted / "fastvlm-llm.gguf"));
  CHECK(fs::is_regular_file(converted / "fastvlm-vision.gguf"));
  for (const LoggedRequest& c : cdn_requests(hub)) CHECK(c.authorization.empty());

  SUBCASE("a second pull finds everything cached: no byte downloaded, nothing converted") {
    hub.clear_log();
    const CliRun again = run_cli_with_env(box.env(hub), fmt::format("pull {} --type q8_0", kRepo));
    REQUIRE(again.lines.size() == 1);
    CHECK(again.exit_code == 0);
    CHECK(again.lines[0]["downloaded_bytes"] == 0);
    CHECK(again.lines[0]["converted"].is_null());
    CHECK(cdn_requests(hub).empty());
  }
  SUBCASE("-m REPO opens the converted pair, -m REPO:none the download") {
    const CliRun ask = run_cli_with_env(box.env(hub), fmt::format("ask {} 'What is it?' -m {} --max-tokens 3",
                                                                  golden_image("square.jpg"), kRepo));
    REQUIRE(ask.lines.size() == 1);
    CHECK(ask.exit_code == 0);
    CHECK(ask.lines[0]["ok"] == true);
    const CliRun direct =
        run_cli_with_env(box.env(hub), fmt::format("ask {} 'What is it?' -m {} --max-tokens 3",
                                                   golden_image("square.jpg"), converted.string()));
    REQUIRE(direct.lines.size() == 1);
    CHECK(ask.lines[0]["token_ids"] == direct.lines[0]["token_ids"]);
    const CliRun hf = run_cli_with_env(
        box.env(hub),
        fmt::format("ask {} 'What is it?' -m {}:none --max-tokens 3", golden_image("square.jpg"), kRepo));
    REQUIRE(hf.lines.size() == 1);
    CHECK(hf.exit_code == 0);
    const CliRun missing = run_cli_with_env(box.env(hub), fmt::format("inspect {}:q4_0", kRepo));
    REQUIRE(missing.lines.size() == 1);
    CHECK(missing.exit_code == 3);
    CHECK(missing.lines[0]["error"]["code"] == "not_found");
    CHECK(message_of(missing).find(fmt::format("fastvlm pull {} --type q4_0", kRepo)) != std::string::npos);
  }
}

TEST_CASE("pull: a connection dropped mid-file is resumed with an HTTP range in the same run") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const std::string& weights = repo.files.at(kWeights);
  const int64_t drop = int64_t(weights.size() / 3);
  hub.drop_at(kWeights, drop);
  const Sandbox box("pull_drop");
  const CliRun r = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(r.lines.size() == 1);
  INFO(r.stdout_text);
  CHECK(r.exit_code == 0);
  const auto cdn = cdn_requests(hub);
  REQUIRE(cdn.size() == 2);
  CHECK(cdn[0].range.empty());
  CHECK(cdn[1].range == fmt::format("bytes={}-", drop));
  const fs::path blob = box.repo_dir() / "blobs" / sha256_hex(weights);
  CHECK(file_bytes(blob) == weights);
}

TEST_CASE("pull: a partial download left by an earlier run (blobs/{sha256}.incomplete) is resumed") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const std::string& weights = repo.files.at(kWeights);
  const Sandbox box("pull_resume");
  const fs::path blob = box.repo_dir() / "blobs" / sha256_hex(weights);
  fs::create_directories(blob.parent_path());
  const size_t half = weights.size() / 2;
  std::ofstream(blob.string() + ".incomplete", std::ios::binary).write(weights.data(), std::streamsize(half));
  const CliRun r = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(r.lines.size() == 1);
  INFO(r.stdout_text);
  CHECK(r.exit_code == 0);
  const auto cdn = cdn_requests(hub);
  REQUIRE(cdn.size() == 1);
  CHECK(cdn[0].range == fmt::format("bytes={}-", half));
  CHECK(file_bytes(blob) == weights);
  CHECK_FALSE(fs::exists(blob.string() + ".incomplete"));
  for (const auto& f : r.lines[0]["files"])
    if (f["name"] == kWeights) CHECK(f["downloaded"] == weights.size() - half);
}

TEST_CASE("pull: a connection that keeps dropping fails clearly and keeps the partial file to resume") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const std::string& weights = repo.files.at(kWeights);
  const int64_t drop = int64_t(weights.size() / 4);
  hub.drop_at(kWeights, drop, 100);
  const Sandbox box("pull_drops");
  const CliRun r = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 74);
  CHECK(r.lines[0]["error"]["code"] == "io_error");
  CHECK(message_of(r).find("run the same command again to resume") != std::string::npos);
  const fs::path blob = box.repo_dir() / "blobs" / sha256_hex(weights);
  CHECK_FALSE(fs::exists(blob));
  CHECK(fs::file_size(blob.string() + ".incomplete") == uint64_t(drop));
  CHECK_FALSE(fs::exists(box.repo_dir() / "snapshots" / repo.commit / kWeights));
  CHECK_FALSE(fs::exists(box.repo_dir() / "refs/main"));  // -m REPO does not see a half pull

  hub.drop_at(kWeights, -1, 0);
  hub.clear_log();
  const CliRun again = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(again.lines.size() == 1);
  CHECK(again.exit_code == 0);
  const auto cdn = cdn_requests(hub);
  REQUIRE(cdn.size() == 1);
  CHECK(cdn[0].range == fmt::format("bytes={}-", drop));
  CHECK(file_bytes(blob) == weights);
}

TEST_CASE("pull: bytes that do not match the LFS sha256 are rejected and discarded") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  hub.corrupt(kWeights);
  const Sandbox box("pull_corrupt");
  const CliRun r = run_cli_with_env(box.env(hub), fmt::format("pull {}", kRepo));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 74);
  CHECK(r.lines[0]["error"]["code"] == "io_error");
  CHECK(message_of(r).find("checksum mismatch") != std::string::npos);
  const fs::path blob = box.repo_dir() / "blobs" / sha256_hex(repo.files.at(kWeights));
  CHECK_FALSE(fs::exists(blob));
  CHECK_FALSE(fs::exists(blob.string() + ".incomplete"));
  CHECK_FALSE(fs::exists(box.repo_dir() / "snapshots" / repo.commit / kWeights));
  CHECK_FALSE(fs::exists(box.converted(repo.commit, "q8_0")));
}

TEST_CASE("pull: a repository the Hub does not have is not_found, and nothing is created") {
  FakeHub hub;
  const Sandbox box("pull_404");
  const CliRun r = run_cli_with_env(box.env(hub), "pull fake-org/no-such-model");
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 3);
  CHECK(r.lines[0]["error"]["code"] == "not_found");
  CHECK(message_of(r).find("fake-org/no-such-model") != std::string::npos);
  CHECK(message_of(r).find("not found") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(box.root) / "hf/hub/models--fake-org--no-such-model"));

  for (const char* bad_args :
       {"pull ../etc", "pull fake-org/x --revision ../../../etc", "pull fake-org/x --type q5_k"}) {
    CAPTURE(bad_args);
    const CliRun bad = run_cli_with_env(box.env(hub), bad_args);
    REQUIRE(bad.lines.size() == 1);
    CHECK(bad.exit_code == 2);
    CHECK(bad.lines[0]["error"]["code"] == "bad_args");
  }
  CHECK(hub.log().size() == 1);  // only the 404 above: bad arguments never reach the network
}

TEST_CASE("pull: a gated repository needs HF_TOKEN, which never reaches the CDN") {
  FakeHub hub;
  FakeRepo repo = golden_fake_repo();
  repo.gated = true;
  hub.add_repo(kRepo, repo);
  const Sandbox box("pull_gated");
  const CliRun denied = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(denied.lines.size() == 1);
  CHECK(denied.exit_code == 3);
  CHECK(denied.lines[0]["error"]["code"] == "not_found");
  CHECK(message_of(denied).find("gated") != std::string::npos);
  CHECK(message_of(denied).find("HF_TOKEN") != std::string::npos);

  hub.clear_log();
  const CliRun ok = run_cli_with_env(box.env(hub, fmt::format("HF_TOKEN={}", FakeHub::kToken)),
                                     fmt::format("pull {} --type none", kRepo));
  REQUIRE(ok.lines.size() == 1);
  CHECK(ok.exit_code == 0);
  int hub_requests = 0;
  for (const LoggedRequest& l : hub.log()) {
    CAPTURE(l.path);
    if (l.server == "hub") {
      ++hub_requests;
      CHECK(l.authorization == std::string("Bearer ") + FakeHub::kToken);
    } else {
      CHECK(l.authorization.empty());
    }
  }
  CHECK(hub_requests > 0);
  CHECK(cdn_requests(hub).size() == 1);
}

TEST_CASE("pull: offline (--offline, HF_HUB_OFFLINE=1) uses the cache and never the network") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const Sandbox box("pull_offline");
  REQUIRE(run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo)).exit_code == 0);
  hub.clear_log();
  const CliRun hit =
      run_cli_with_env(box.env(hub, "HF_HUB_OFFLINE=1"), fmt::format("pull {} --type none", kRepo));
  REQUIRE(hit.lines.size() == 1);
  CHECK(hit.exit_code == 0);
  CHECK(hit.lines[0]["offline"] == true);
  CHECK(hit.lines[0]["commit"] == repo.commit);
  const CliRun miss = run_cli_with_env(box.env(hub), "pull fake-org/other --offline");
  REQUIRE(miss.lines.size() == 1);
  CHECK(miss.exit_code == 3);
  CHECK(miss.lines[0]["error"]["code"] == "not_found");
  CHECK(message_of(miss).find("offline") != std::string::npos);
  CHECK(hub.log().empty());
  const CliRun absent = run_cli_with_env(box.env(hub), "inspect fake-org/other");
  REQUIRE(absent.lines.size() == 1);
  CHECK(absent.exit_code == 3);
  CHECK(absent.lines[0]["error"]["code"] == "not_found");
  CHECK(message_of(absent).find("fastvlm pull fake-org/other") != std::string::npos);
}

TEST_CASE("pull: a repository that is not a FastVLM checkpoint is unsupported before its weights download") {
  FakeHub hub;
  FakeRepo repo;
  repo.commit = "89abcdef0123456789abcdef0123456789abcdef";
  repo.files["config.json"] = R"({"model_type": "qwen2", "hidden_size": 896})";
  repo.files[kWeights] = std::string(4096, 'x');
  hub.add_repo("fake-org/plain-qwen2", repo);
  const Sandbox box("pull_unsupported");
  const CliRun r = run_cli_with_env(box.env(hub), "pull fake-org/plain-qwen2");
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 5);
  CHECK(r.lines[0]["error"]["code"] == "unsupported");
  CHECK(message_of(r).find("not a FastVLM checkpoint") != std::string::npos);
  CHECK(cdn_requests(hub).empty());
}

TEST_CASE("pull: a full disk is an io_error, no blob is left where a complete one is expected") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const Sandbox box("pull_full_disk");
  // ulimit -f (KiB) stops every file at 4 MiB: the weights cannot be written whole.
  const CliRun r = run_shell_pull("trap '' XFSZ; ulimit -f 4096;", box.env(hub),
                                  fmt::format("pull {} --type none", kRepo));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 74);
  CHECK(r.lines[0]["error"]["code"] == "io_error");
  const fs::path blob = box.repo_dir() / "blobs" / sha256_hex(repo.files.at(kWeights));
  CHECK_FALSE(fs::exists(blob));
  CHECK_FALSE(fs::exists(box.repo_dir() / "snapshots" / repo.commit / kWeights));
  // With room again the same pull completes from where the disk filled up.
  const CliRun again = run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo));
  REQUIRE(again.lines.size() == 1);
  CHECK(again.exit_code == 0);
  CHECK(file_bytes(blob) == repo.files.at(kWeights));
}

TEST_CASE("pull: no Hub at HF_ENDPOINT is a clear io_error") {
  FakeHub hub;
  const Sandbox box("pull_no_network");
  const CliRun r =
      run_cli_with_env(box.env(hub, "HF_ENDPOINT=http://127.0.0.1:1"), fmt::format("pull {}", kRepo));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.exit_code == 74);
  CHECK(r.lines[0]["error"]["code"] == "io_error");
  CHECK(message_of(r).find("cannot reach the Hub") != std::string::npos);
}

TEST_CASE("list shows the cached FastVLM models as JSON Lines, rm removes one") {
  FakeHub hub;
  const FakeRepo repo = golden_fake_repo();
  hub.add_repo(kRepo, repo);
  const Sandbox box("pull_list_rm");
  const CliRun empty = run_cli_with_env(box.env(hub), "list");
  CHECK(empty.exit_code == 0);
  CHECK(empty.lines.empty());
  REQUIRE(run_cli_with_env(box.env(hub), fmt::format("pull {} --type none", kRepo)).exit_code == 0);
  const CliRun listed = run_cli_with_env(box.env(hub), "list");
  REQUIRE(listed.lines.size() == 1);
  CHECK(listed.exit_code == 0);
  const auto& m = listed.lines[0];
  CHECK(m["repo"] == kRepo);
  CHECK(m["refs"]["main"] == repo.commit);
  int64_t expected = 0;
  for (const auto& [name, data] : repo.files)
    if (name != "README.md") expected += int64_t(data.size());
  CHECK(m["download"]["bytes"] == expected);
  CHECK(m["converted"].empty());

  const CliRun rm = run_cli_with_env(box.env(hub), fmt::format("rm {}", kRepo));
  REQUIRE(rm.lines.size() == 1);
  CHECK(rm.exit_code == 0);
  CHECK(rm.lines[0]["bytes"] == expected + int64_t(repo.commit.size()));  // + refs/main
  CHECK_FALSE(fs::exists(box.repo_dir()));
  CHECK(run_cli_with_env(box.env(hub), "list").lines.empty());
  const CliRun again = run_cli_with_env(box.env(hub), fmt::format("rm {}", kRepo));
  REQUIRE(again.lines.size() == 1);
  CHECK(again.exit_code == 3);
  CHECK(again.lines[0]["error"]["code"] == "not_found");
}
