// Where pulled models live on disk, and naming a model by its Hub repository id. Filesystem only:
// the network side (hub/) fills these folders, this finds what is there.
//
// Downloads use the Hugging Face hub cache layout, exactly as huggingface_hub writes it, so that
// files other tools downloaded are reused and theirs reuse ours:
//   $HF_HUB_CACHE (else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
//   ~/.cache/huggingface/hub)/models--{org}--{name}/
//     blobs/{etag}                   file contents (etag = sha256 for LFS files, git sha1 else)
//     blobs/{etag}.incomplete        a partial download, resumed with an HTTP range
//     snapshots/{commit}/{file}      relative symlinks to ../../blobs/{etag}
//     refs/{revision}                the commit the revision pointed to when last pulled
// The converted GGUF pairs are the project's own: $XDG_CACHE_HOME/fastvlm (else ~/.cache/fastvlm)
//   /models/{org}--{name}/{commit}/{type}/{fastvlm-llm.gguf, fastvlm-vision.gguf}
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fvlm {

struct RepoId {
  std::string org, name;
  std::string str() const { return org + "/" + name; }
};

// "org/name" as the Hub spells repository ids (letters, digits, '-', '_', '.'; no "..", no
// leading '.' or '-'); nullopt for anything else (a path, a URL).
std::optional<RepoId> parse_repo_id(std::string_view text);
// The same, or Error{kBadArgs} saying what a repository id looks like.
RepoId repo_id_or_throw(std::string_view text);

// The types a pulled model can be converted to, in the order `-m REPO` prefers them; "none" is the
// Hugging Face directory itself (always last).
const std::vector<std::string>& cached_model_types();
bool is_commit_hash(std::string_view s);  // 40 lower-case hex digits

std::string hf_hub_cache_dir();
std::string hf_repo_dir(const RepoId& repo);                                 // .../models--org--name
std::string hf_snapshot_dir(const RepoId& repo, const std::string& commit);  // .../snapshots/<commit>
// The commit `revision` names in the cache: itself when it is a commit hash with a snapshot, else
// the content of refs/<revision>; nullopt when the cache does not know it.
std::optional<std::string> read_hf_ref(const RepoId& repo, const std::string& revision);

std::string fastvlm_cache_dir();
std::string converted_repo_dir(const RepoId& repo);  // .../fastvlm/models/org--name
std::string converted_dir(const RepoId& repo, const std::string& commit, const std::string& type);
bool has_converted_pair(const std::string& dir);  // both GGUF files present

// `-m REPO[:TYPE]` -> a model path: the converted pair of the commit refs/main names (TYPE, or the
// first type of cached_model_types() that is there), else the HF snapshot (or with TYPE "none").
// Error{kNotFound} telling the `fastvlm pull` command when the cache has none of it.
std::string resolve_cached_model(std::string_view spec);
// True when `spec` is meant as a repository id: REPO or REPO:TYPE, and no file or folder of
// that name exists (a local path always wins).
bool names_cached_model(std::string_view spec);

struct CachedConverted {
  std::string commit, type, path;
  int64_t bytes = 0;
};
struct CachedModel {
  RepoId repo;
  std::vector<std::pair<std::string, std::string>> refs;  // revision -> commit
  std::vector<std::string> snapshots;                     // commits with a snapshot folder
  std::string hf_path;                                    // models--org--name, "" if absent
  int64_t hf_bytes = 0;                                   // complete blobs
  std::vector<CachedConverted> converted;
};
// Every cached FastVLM (a snapshot whose config.json says llava_qwen2, or a converted pair), by
// repository id.
std::vector<CachedModel> list_cached_models();

struct RemovedModel {
  std::vector<std::string> paths;
  int64_t bytes = 0;
};
// Deletes the converted pairs of `repo` and, unless keep_download, its Hugging Face cache folder.
// Error{kNotFound} when neither is there.
RemovedModel remove_cached_model(const RepoId& repo, bool keep_download);

}  // namespace fvlm
