#include "cli/hub/hub_api.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm::hub {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_true(const char* name) {
  std::string v = env(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

// The token file `huggingface-cli login` writes ($HF_TOKEN_PATH, else $HF_HOME/token).
std::string token_from_file() {
  std::string path = env("HF_TOKEN_PATH");
  if (path.empty()) {
    const std::string home = env("HF_HOME");
    const std::string xdg = env("XDG_CACHE_HOME"), user = env("HOME");
    path = !home.empty()   ? home + "/token"
           : !xdg.empty()  ? xdg + "/huggingface/token"
           : !user.empty() ? user + "/.cache/huggingface/token"
                           : "";
  }
  if (path.empty()) return "";
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

}  // namespace

HubSettings hub_settings(bool offline_flag) {
  HubSettings s;
  s.endpoint = env("HF_ENDPOINT");
  if (s.endpoint.empty()) s.endpoint = "https://huggingface.co";
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  s.token = env("HF_TOKEN");
  if (s.token.empty()) s.token = env("HUGGING_FACE_HUB_TOKEN");
  if (s.token.empty()) s.token = token_from_file();
  s.offline = offline_flag || env_true("HF_HUB_OFFLINE");
  return s;
}

std::vector<std::string> hub_headers(const HubSettings& hub) {
  std::vector<std::string> h = {"Accept-Encoding: identity"};  // sizes and ranges of the real bytes
  if (!hub.token.empty()) h.push_back("Authorization: Bearer " + hub.token);
  return h;
}

std::string url_escape(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out += char(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

void throw_hub_error(const HubSettings& hub, const HttpResponse& res, const std::string& url,
                     const std::string& what) {
  if (!res.error.empty() && res.status == 0)
    throw Error(Errc::kIoError,
                fmt::format("cannot reach the Hub at {} ({}): {}; check the network, HF_ENDPOINT, "
                            "or use --offline for what is cached",
                            hub.endpoint, url, res.error));
  const std::string code = res.header("x-error-code"), message = res.header("x-error-message");
  const std::string said = message.empty() ? "" : fmt::format(" (the Hub says: {})", message);
  if (res.status == 401 || code == "GatedRepo") {
    if (hub.token.empty())
      throw Error(
          Errc::kNotFound,
          fmt::format("{}: the Hub answered {} without a token: the repository is gated or private (or "
                      "does not exist); set HF_TOKEN to a token of an account that has access{}",
                      what, res.status, said));
    throw Error(Errc::kNotFound, fmt::format("{}: the Hub answered {}: HF_TOKEN is not accepted for this "
                                             "repository (gated or private; request access on its page){}",
                                             what, res.status, said));
  }
  if (res.status == 403)
    throw Error(Errc::kNotFound,
                fmt::format("{}: access denied (403): request access to the gated repository on "
                            "its Hub page with the account of HF_TOKEN{}",
                            what, said));
  if (res.status == 404) {
    if (code == "RevisionNotFound")
      throw Error(Errc::kNotFound, fmt::format("{}: revision not found on {}{}", what, hub.endpoint, said));
    if (code == "EntryNotFound")
      throw Error(Errc::kNotFound, fmt::format("{}: file not found on {}{}", what, hub.endpoint, said));
    throw Error(Errc::kNotFound,
                fmt::format("{}: repository not found on {} (404){}", what, hub.endpoint, said));
  }
  if (!res.error.empty())
    throw Error(Errc::kIoError, fmt::format("{}: transfer from {} failed: {}", what, url, res.error));
  throw Error(Errc::kIoError,
              fmt::format("{}: the Hub answered HTTP {} for {}{}", what, res.status, url, said));
}

RepoInfo fetch_repo_info(const HubSettings& hub, const RepoId& repo, const std::string& revision) {
  const std::string url = fmt::format("{}/api/models/{}/{}/revision/{}?blobs=true", hub.endpoint, repo.org,
                                      repo.name, url_escape(revision, false));
  const std::string what = fmt::format("{} (revision {})", repo.str(), revision);
  const HttpResponse res = http_request({url, hub_headers(hub), false, true, -1});
  if (res.status != 200 || !res.error.empty()) throw_hub_error(hub, res, url, what);
  const auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (!j.is_object() || !j.contains("sha") || !j["sha"].is_string() || !j.contains("siblings") ||
      !j["siblings"].is_array())
    throw Error(Errc::kIoError,
                fmt::format("{}: the Hub's answer from {} is not a repository description", what, url));
  RepoInfo info;
  info.commit = j["sha"].get<std::string>();
  if (!is_commit_hash(info.commit))
    throw Error(Errc::kIoError,
                fmt::format("{}: the Hub gave '{}' as the commit, not a commit hash", what, info.commit));
  for (const auto& s : j["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    RepoFile f;
    f.name = s["rfilename"].get<std::string>();
    if (s.contains("size") && s["size"].is_number_integer()) f.size = s["size"].get<int64_t>();
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const auto& lfs = s["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string())
        f.lfs_sha256 = lfs["sha256"].get<std::string>();
      if (lfs.contains("size") && lfs["size"].is_number_integer()) f.size = lfs["size"].get<int64_t>();
    }
    info.files.push_back(std::move(f));
  }
  return info;
}

}  // namespace fvlm::hub
