#include "cli/hub/pull.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm::hub {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Refuses what is not a FastVLM (LLaVA-Qwen2) checkpoint, before any weight is downloaded.
void check_fastvlm_config(const std::string& config_path, const std::string& repo) {
  std::ifstream in(config_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  const std::string type = j.is_object() && j.contains("model_type") && j["model_type"].is_string()
                               ? j["model_type"].get<std::string>()
                               : std::string("(none)");
  if (type != "llava_qwen2")
    throw Error(Errc::kUnsupported,
                fmt::format("{} is not a FastVLM checkpoint: config.json has model_type {}, "
                            "FastVLM's is llava_qwen2",
                            repo, type));
}

// The snapshot already in the cache for `revision` (offline mode).
std::string cached_commit(const RepoId& repo, const std::string& revision) {
  const std::optional<std::string> commit = read_hf_ref(repo, revision);
  std::error_code ec;
  if (!commit || !fs::exists(fs::path(hf_snapshot_dir(repo, *commit)) / "config.json", ec))
    throw Error(Errc::kNotFound,
                fmt::format("{} (revision {}) is not in the cache ({}) and offline mode is on (--offline or "
                            "HF_HUB_OFFLINE=1): pull it once with the network",
                            repo.str(), revision, hf_repo_dir(repo)));
  return *commit;
}

}  // namespace

bool is_model_file(const std::string& name) {
  if (name.find('/') != std::string::npos) return false;  // sub-folders: other formats, examples
  return ends_with(name, ".json") || ends_with(name, ".safetensors") || ends_with(name, ".txt") ||
         ends_with(name, ".jinja") || name == "tokenizer.model";
}

PullResult pull_model(const PullOptions& opt) {
  PullResult r;
  r.repo = repo_id_or_throw(opt.repo);
  r.revision = opt.revision;
  // It names a file under refs/ too: nothing that climbs out of it.
  if (opt.revision.empty() || opt.revision.front() == '/' || opt.revision.find("..") != std::string::npos ||
      opt.revision.find('\\') != std::string::npos)
    throw Error(Errc::kBadArgs,
                fmt::format("--revision '{}' is not a branch, tag or commit name", opt.revision));
  if (opt.type != "none") parse_convert_type(opt.type);  // a bad --type fails before any download
  const HubSettings hub = hub_settings(opt.offline);
  r.offline = hub.offline;
  const auto t0 = Clock::now();
  if (hub.offline) {
    r.commit = cached_commit(r.repo, opt.revision);
    r.snapshot_dir = hf_snapshot_dir(r.repo, r.commit);
    for (const auto& e : fs::directory_iterator(r.snapshot_dir))
      if (e.is_regular_file())
        r.files.push_back({e.path().filename().string(), int64_t(fs::file_size(e.path())), 0, true});
    check_fastvlm_config(r.snapshot_dir + "/config.json", r.repo.str());
  } else {
    const RepoInfo info = fetch_repo_info(hub, r.repo, opt.revision);
    r.commit = info.commit;
    r.snapshot_dir = hf_snapshot_dir(r.repo, r.commit);
    std::vector<RepoFile> wanted;
    const RepoFile* config = nullptr;
    bool has_weights = false;
    for (const RepoFile& f : info.files) {
      if (!is_model_file(f.name)) continue;
      if (f.name == "config.json") config = &f;
      has_weights = has_weights || ends_with(f.name, ".safetensors");
      wanted.push_back(f);
    }
    if (!config)
      throw Error(Errc::kUnsupported,
                  fmt::format("{} has no config.json: not a FastVLM checkpoint", r.repo.str()));
    r.files.push_back(fetch_repo_file(hub, r.repo, r.commit, *config, opt.progress));
    check_fastvlm_config(r.snapshot_dir + "/config.json", r.repo.str());
    if (!has_weights)
      throw Error(Errc::kUnsupported,
                  fmt::format("{} has no .safetensors weights (fastvlm reads safetensors, not .bin/.pt)",
                              r.repo.str()));
    for (const RepoFile& f : wanted)
      if (f.name != "config.json") r.files.push_back(fetch_repo_file(hub, r.repo, r.commit, f, opt.progress));
    if (opt.revision != r.commit) write_hf_ref(r.repo, opt.revision, r.commit);
  }
  for (const FetchedFile& f : r.files) r.downloaded_bytes += f.downloaded;
  r.download_ms = ms_since(t0);
  r.model_path = r.snapshot_dir;
  if (opt.type == "none") return r;
  const std::string out = converted_dir(r.repo, r.commit, opt.type);
  r.model_path = out;
  if (has_converted_pair(out)) return r;
  spdlog::info("converting {} to {} in {}", r.repo.str(), opt.type, out);
  const auto t1 = Clock::now();
  ConvertOptions c;
  c.src = r.snapshot_dir;
  c.out_dir = out;
  c.type = parse_convert_type(opt.type);
  r.converted = convert_model(c);
  r.convert_ms = ms_since(t1);
  return r;
}

}  // namespace fvlm::hub
