// `pull REPO`, `list`, `rm REPO`: models from the Hugging Face Hub, cached in its own layout and
// converted (cli/hub/pull.h); the cache itself is models/model_cache.h.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/hub/pull.h"
#include "cli/output.h"
#include "models/model_cache.h"

namespace fvlm::cli {
namespace {

struct PullCommand {
  std::string repo, revision = "main", type = "q8_0";
  bool offline = false;
};

struct RmCommand {
  std::string repo;
  bool keep_download = false;
};

// One line per file on a terminal, redrawn in place at most 5 times a second; elsewhere (logs,
// CI) one log line per finished file, at -v.
class DownloadBar {
 public:
  DownloadBar() : live_(::isatty(STDERR_FILENO) && spdlog::get_level() <= spdlog::level::warn) {}

  void operator()(const std::string& file, int64_t have, int64_t total, bool done) {
    const auto now = std::chrono::steady_clock::now();
    if (file != file_) {
      file_ = file;
      start_ = now;
      start_bytes_ = have;
    }
    if (!done && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - start_).count();
    const double rate = s > 0 ? double(have - start_bytes_) / s / 1e6 : 0.0;
    const std::string size = total >= 0 ? fmt::format("{:.1f}/{:.1f} MB", have / 1e6, total / 1e6)
                                        : fmt::format("{:.1f} MB", have / 1e6);
    const int pct = total > 0 ? int(100.0 * double(have) / double(total)) : 100;
    if (live_) {
      const int width = 30, filled = width * pct / 100;
      std::fprintf(stderr, "\r\033[K%-32.32s [%s%s] %3d%% %s %.1f MB/s%s", file.c_str(),
                   std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '.').c_str(),
                   pct, size.c_str(), rate, done ? "\n" : "");
      std::fflush(stderr);
    } else if (done) {
      spdlog::info("{}: {}", file, size);
    }
  }

 private:
  bool live_;
  std::string file_;
  std::chrono::steady_clock::time_point start_{}, last_{};
  int64_t start_bytes_ = 0;
};

nlohmann::ordered_json pulled_json(const hub::PullResult& r, const std::string& type) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const hub::FetchedFile& f : r.files)
    files.push_back(
        {{"name", f.name}, {"bytes", f.bytes}, {"downloaded", f.downloaded}, {"cached", f.cached}});
  nlohmann::ordered_json converted = nullptr;
  if (r.converted)
    converted = {{"llm", {{"path", r.converted->llm.path}, {"bytes", r.converted->llm.bytes}}},
                 {"vision", {{"path", r.converted->vision.path}, {"bytes", r.converted->vision.bytes}}}};
  return {{"ok", true},
          {"task", "pull"},
          {"repo", r.repo.str()},
          {"revision", r.revision},
          {"commit", r.commit},
          {"type", type},
          {"offline", r.offline},
          {"model", r.model_path},
          {"snapshot", r.snapshot_dir},
          {"files", files},
          {"downloaded_bytes", r.downloaded_bytes},
          {"converted", converted},
          {"timing_ms", {{"download", round_ms(r.download_ms)}, {"convert", round_ms(r.convert_ms)}}}};
}

nlohmann::ordered_json cached_json(const CachedModel& m) {
  nlohmann::ordered_json refs = nlohmann::ordered_json::object();
  for (const auto& [rev, commit] : m.refs) refs[rev] = commit;
  nlohmann::ordered_json converted = nlohmann::ordered_json::array();
  int64_t bytes = m.hf_bytes;
  for (const CachedConverted& c : m.converted) {
    converted.push_back({{"type", c.type}, {"commit", c.commit}, {"path", c.path}, {"bytes", c.bytes}});
    bytes += c.bytes;
  }
  nlohmann::ordered_json hf = nullptr;
  if (!m.hf_path.empty()) hf = {{"path", m.hf_path}, {"bytes", m.hf_bytes}, {"snapshots", m.snapshots}};
  return {{"ok", true},     {"task", "list"}, {"repo", m.repo.str()},  {"refs", refs},
          {"bytes", bytes}, {"download", hf}, {"converted", converted}};
}

}  // namespace

void add_pull_commands(CLI::App& app, int& exit_code) {
  auto p = std::make_shared<PullCommand>();
  auto* pull = app.add_subcommand(
      "pull",
      "Download a FastVLM model from the Hugging Face Hub (HF cache layout, verified) and convert it");
  pull->add_option("repo", p->repo, "Repository id, e.g. apple/FastVLM-0.5B")->required();
  pull->add_option("--revision", p->revision, "Branch, tag or commit (default main)");
  pull->add_option(
          "--type", p->type,
          "Convert to q8_0 (default) | q4_0 | bf16 | f16 | f32, or none (keep the HF directory only)")
      ->check(CLI::IsMember(cached_model_types()));
  pull->add_flag("--offline", p->offline, "No network (also HF_HUB_OFFLINE=1): only what is cached");
  pull->callback([p, &exit_code] {
    DownloadBar bar;
    hub::PullOptions o;
    o.repo = p->repo;
    o.revision = p->revision;
    o.type = p->type;
    o.offline = p->offline;
    o.progress = [&bar](const std::string& f, int64_t have, int64_t total, bool done) {
      bar(f, have, total, done);
    };
    emit(pulled_json(hub::pull_model(o), p->type));
    exit_code = 0;
  });

  auto* list =
      app.add_subcommand("list", "Cached FastVLM models (JSON Lines: downloads and converted pairs)");
  list->callback([&exit_code] {
    for (const CachedModel& m : list_cached_models()) emit(cached_json(m));
    exit_code = 0;
  });

  auto r = std::make_shared<RmCommand>();
  auto* rm = app.add_subcommand("rm", "Remove a cached model (its converted pairs and its HF download)");
  rm->add_option("repo", r->repo, "Repository id, e.g. apple/FastVLM-0.5B")->required();
  rm->add_flag("--keep-download", r->keep_download,
               "Remove only the converted pairs, keep the Hugging Face download (shared with other tools)");
  rm->callback([r, &exit_code] {
    const RepoId repo = repo_id_or_throw(r->repo);
    const RemovedModel removed = remove_cached_model(repo, r->keep_download);
    emit({{"ok", true},
          {"task", "rm"},
          {"repo", repo.str()},
          {"removed", removed.paths},
          {"bytes", removed.bytes}});
    exit_code = 0;
  });
}

}  // namespace fvlm::cli
