// The Hugging Face Hub's HTTP API as huggingface_hub speaks it: settings from the environment
// (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), a repository's file list at a revision, and the Hub's
// HTTP errors as fastvlm errors.
//   GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true
//     -> {"sha": commit, "siblings": [{"rfilename", "size", "lfs": {"sha256", "size"}}]}
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/hub/http_client.h"
#include "models/model_cache.h"

namespace fvlm::hub {

struct HubSettings {
  std::string endpoint;  // $HF_ENDPOINT, else https://huggingface.co; no trailing '/'
  std::string token;     // $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the file $HF_HOME/token
  bool offline = false;  // --offline or HF_HUB_OFFLINE=1|true|yes|on
};
HubSettings hub_settings(bool offline_flag);

struct RepoFile {
  std::string name;        // path in the repository ("model.safetensors")
  int64_t size = -1;       // -1: unknown
  std::string lfs_sha256;  // LFS files: the content's sha256 (verified after download)
};
struct RepoInfo {
  std::string commit;
  std::vector<RepoFile> files;
};

// Error{kNotFound} for 401/403/404 (messages say what to do: HF_TOKEN, access request),
// Error{kIoError} for no connection or a server error.
RepoInfo fetch_repo_info(const HubSettings& hub, const RepoId& repo, const std::string& revision);

// The headers every request to the endpoint carries (Authorization when there is a token).
std::vector<std::string> hub_headers(const HubSettings& hub);
// Percent-encoding of a URL path piece; '/' kept when keep_slash (file paths).
std::string url_escape(const std::string& s, bool keep_slash);

// The fastvlm error for a failed request about `what` (a repository, or one of its files).
[[noreturn]] void throw_hub_error(const HubSettings& hub, const HttpResponse& res, const std::string& url,
                                  const std::string& what);

}  // namespace fvlm::hub
