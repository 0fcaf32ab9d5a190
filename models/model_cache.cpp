#include "models/model_cache.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "models/convert.h"

namespace fvlm {
namespace fs = std::filesystem;
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// $XDG_CACHE_HOME, else ~/.cache (the XDG base directory rule, which huggingface_hub follows too).
std::string xdg_cache_home() {
  if (std::string x = env_or_empty("XDG_CACHE_HOME"); !x.empty()) return x;
  if (std::string home = env_or_empty("HOME"); !home.empty()) return home + "/.cache";
  throw Error(Errc::kBadArgs, "no cache folder: set HOME, XDG_CACHE_HOME or HF_HOME");
}

bool repo_part_ok(std::string_view s) {
  if (s.empty() || s.size() > 96 || s.front() == '.' || s.front() == '-') return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::string read_small_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sum of the regular files under `dir`, symlinks not followed (a snapshot's links are not counted
// again) and partial downloads left out.
int64_t tree_bytes(const fs::path& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    if (it->path().extension() == ".incomplete") continue;
    total += int64_t(it->file_size(ec));
  }
  return total;
}

std::pair<std::string, std::string> split_type(std::string_view spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) return {std::string(spec), ""};
  return {std::string(spec.substr(0, colon)), std::string(spec.substr(colon + 1))};
}

bool snapshot_is_fastvlm(const fs::path& snapshot) {
  const fs::path config = snapshot / "config.json";
  std::error_code ec;
  if (!fs::exists(config, ec)) return false;
  const auto j = nlohmann::json::parse(read_small_file(config), nullptr, false);
  return j.is_object() && j.value("model_type", std::string()) == "llava_qwen2";
}

}  // namespace

std::optional<RepoId> parse_repo_id(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view org = text.substr(0, slash), name = text.substr(slash + 1);
  if (!repo_part_ok(org) || !repo_part_ok(name)) return std::nullopt;
  return RepoId{std::string(org), std::string(name)};
}

RepoId repo_id_or_throw(std::string_view text) {
  if (auto r = parse_repo_id(text)) return *r;
  throw Error(
      Errc::kBadArgs,
      fmt::format("'{}' is not a Hugging Face repository id: expected ORG/NAME, e.g. apple/FastVLM-0.5B",
                  text));
}

const std::vector<std::string>& cached_model_types() {
  static const std::vector<std::string> kTypes = {"q8_0", "q4_0", "bf16", "f16", "f32", "none"};
  return kTypes;
}

bool is_commit_hash(std::string_view s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string hf_hub_cache_dir() {
  if (std::string d = env_or_empty("HF_HUB_CACHE"); !d.empty()) return d;
  if (std::string d = env_or_empty("HF_HOME"); !d.empty()) return d + "/hub";
  return xdg_cache_home() + "/huggingface/hub";
}

std::string hf_repo_dir(const RepoId& repo) {
  return hf_hub_cache_dir() + "/models--" + repo.org + "--" + repo.name;
}

std::string hf_snapshot_dir(const RepoId& repo, const std::string& commit) {
  return hf_repo_dir(repo) + "/snapshots/" + commit;
}

std::optional<std::string> read_hf_ref(const RepoId& repo, const std::string& revision) {
  std::error_code ec;
  if (is_commit_hash(revision) && fs::is_directory(hf_snapshot_dir(repo, revision), ec)) return revision;
  if (revision.find("..") != std::string::npos) return std::nullopt;
  const fs::path ref = fs::path(hf_repo_dir(repo)) / "refs" / revision;
  if (!fs::is_regular_file(ref, ec)) return std::nullopt;
  std::string commit = read_small_file(ref);
  while (!commit.empty() && (commit.back() == '\n' || commit.back() == '\r')) commit.pop_back();
  if (!is_commit_hash(commit)) return std::nullopt;
  return commit;
}

std::string fastvlm_cache_dir() { return xdg_cache_home() + "/fastvlm"; }

std::string converted_repo_dir(const RepoId& repo) {
  return fastvlm_cache_dir() + "/models/" + repo.org + "--" + repo.name;
}

std::string converted_dir(const RepoId& repo, const std::string& commit, const std::string& type) {
  return converted_repo_dir(repo) + "/" + commit + "/" + type;
}

bool has_converted_pair(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / kGgufLlmFile, ec) &&
         fs::is_regular_file(fs::path(dir) / kGgufVisionFile, ec);
}

bool names_cached_model(std::string_view spec) {
  std::error_code ec;
  if (spec.empty() || fs::exists(fs::path(std::string(spec)), ec)) return false;
  const auto [repo, type] = split_type(spec);
  return parse_repo_id(repo).has_value();
}

std::string resolve_cached_model(std::string_view spec) {
  const auto [repo_text, type] = split_type(spec);
  const RepoId repo = repo_id_or_throw(repo_text);
  const auto& types = cached_model_types();
  if (!type.empty() && std::find(types.begin(), types.end(), type) == types.end())
    throw Error(
        Errc::kBadArgs,
        fmt::format("model {}: unknown type '{}' (one of q8_0, q4_0, bf16, f16, f32, none)", spec, type));
  const std::string pull_hint =
      fmt::format("fastvlm pull {}{}", repo.str(), type.empty() ? "" : " --type " + type);
  const std::optional<std::string> commit = read_hf_ref(repo, "main");
  if (!commit)
    throw Error(
        Errc::kNotFound,
        fmt::format("model {}: no such file or folder, and no pulled model of that name in the cache ({}): "
                    "run `{}` first",
                    spec, hf_repo_dir(repo), pull_hint));
  for (const std::string& t : types) {
    if (!type.empty() && t != type) continue;
    if (t == "none") {
      const std::string snap = hf_snapshot_dir(repo, *commit);
      std::error_code ec;
      if (fs::exists(fs::path(snap) / "config.json", ec)) return snap;
    } else if (const std::string dir = converted_dir(repo, *commit, t); has_converted_pair(dir)) {
      return dir;
    }
  }
  throw Error(Errc::kNotFound, fmt::format("model {} is not in the cache (commit {}{}): run `{}` first", spec,
                                           *commit, type.empty() ? "" : ", type " + type, pull_hint));
}

std::vector<CachedModel> list_cached_models() {
  std::vector<CachedModel> out;
  auto entry_for = [&](const RepoId& r) -> CachedModel& {
    for (CachedModel& m : out)
      if (m.repo.str() == r.str()) return m;
    out.push_back(CachedModel{r, {}, {}, {}, 0, {}});
    return out.back();
  };
  std::error_code ec;
  // The HF cache holds every tool's downloads: only FastVLM checkpoints are ours to list.
  for (const auto& e : fs::directory_iterator(hf_hub_cache_dir(), ec)) {
    const std::string dir = e.path().filename().string();
    if (dir.rfind("models--", 0) != 0) continue;
    const std::string rest = dir.substr(8);
    const size_t sep = rest.find("--");
    if (sep == std::string::npos) continue;
    const auto repo = parse_repo_id(rest.substr(0, sep) + "/" + rest.substr(sep + 2));
    if (!repo) continue;
    std::vector<std::string> snapshots;
    bool fastvlm = false;
    for (const auto& s : fs::directory_iterator(e.path() / "snapshots", ec)) {
      snapshots.push_back(s.path().filename().string());
      fastvlm = fastvlm || snapshot_is_fastvlm(s.path());
    }
    if (!fastvlm) continue;
    CachedModel& m = entry_for(*repo);
    std::sort(snapshots.begin(), snapshots.end());
    m.snapshots = snapshots;
    m.hf_path = e.path().string();
    m.hf_bytes = tree_bytes(e.path() / "blobs");
    for (const auto& ref : fs::recursive_directory_iterator(e.path() / "refs", ec))
      if (ref.is_regular_file(ec)) {
        const std::string rev = fs::relative(ref.path(), e.path() / "refs", ec).string();
        if (auto c = read_hf_ref(*repo, rev)) m.refs.emplace_back(rev, *c);
      }
    std::sort(m.refs.begin(), m.refs.end());
  }
  for (const auto& e : fs::directory_iterator(fastvlm_cache_dir() + "/models", ec)) {
    const std::string dir = e.path().filename().string();
    const size_t sep = dir.find("--");
    if (sep == std::string::npos) continue;
    const auto repo = parse_repo_id(dir.substr(0, sep) + "/" + dir.substr(sep + 2));
    if (!repo) continue;
    for (const auto& c : fs::directory_iterator(e.path(), ec))
      for (const auto& t : fs::directory_iterator(c.path(), ec))
        if (has_converted_pair(t.path().string()))
          entry_for(*repo).converted.push_back({c.path().filename().string(), t.path().filename().string(),
                                                t.path().string(), tree_bytes(t.path())});
  }
  for (CachedModel& m : out)
    std::sort(m.converted.begin(), m.converted.end(), [](const auto& a, const auto& b) {
      return std::tie(a.commit, a.type) < std::tie(b.commit, b.type);
    });
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.repo.str() < b.repo.str(); });
  return out;
}

RemovedModel remove_cached_model(const RepoId& repo, bool keep_download) {
  std::vector<std::string> dirs = {converted_repo_dir(repo)};
  if (!keep_download) dirs.push_back(hf_repo_dir(repo));
  std::error_code ec;
  if (std::none_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return fs::exists(d, ec); }))
    throw Error(Errc::kNotFound, fmt::format("model {} is not in the cache{}", repo.str(),
                                             keep_download ? " (converted form)" : ""));
  // huggingface_hub's lock files of this repository go with its folder.
  if (!keep_download) dirs.push_back(hf_hub_cache_dir() + "/.locks/models--" + repo.org + "--" + repo.name);
  RemovedModel r;
  for (const std::string& d : dirs) {
    if (!fs::exists(d, ec)) continue;
    const int64_t bytes = tree_bytes(d);
    fs::remove_all(d, ec);
    if (ec) throw Error(Errc::kIoError, fmt::format("cannot remove {}: {}", d, ec.message()));
    r.paths.push_back(d);
    r.bytes += bytes;
  }
  return r;
}

}  // namespace fvlm
