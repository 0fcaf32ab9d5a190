// One file of a Hub repository into the Hugging Face cache, as huggingface_hub's hf_hub_download
// does it, so that either tool finds and resumes the other's files:
//   HEAD {endpoint}/{repo}/resolve/{commit}/{file} (redirects not followed): ETag or X-Linked-Etag
//   (the sha256 of an LFS file), X-Linked-Size, and for LFS files a 302 to the CDN;
//   GET the file (or its CDN address, without the token) into blobs/{etag}.incomplete, with
//   "Range: bytes=N-" when N bytes are there already (left by an interrupted run of either tool,
//   or by a connection lost a moment ago: up to kMaxStalls retries without progress);
//   check the size and, for LFS files, the sha256 (a mismatch deletes the download);
//   rename to blobs/{etag}; link snapshots/{commit}/{file} -> ../../blobs/{etag}.
// A lock file {cache}/.locks/models--{org}--{name}/{etag}.lock (flock, as filelock does) keeps two
// processes off the same blob.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "cli/hub/hub_api.h"

namespace fvlm::hub {

// Called as bytes arrive: (file, bytes so far, total or -1); `done` once at the end of the file.
using ProgressFn = std::function<void(const std::string& file, int64_t have, int64_t total, bool done)>;

struct FetchedFile {
  std::string name;
  int64_t bytes = 0;       // the file's size
  int64_t downloaded = 0;  // bytes received now (0 when the cache had it)
  bool cached = false;     // the snapshot had it already
};

// Makes snapshots/{commit}/{file.name} exist, downloading it if no snapshot or blob has it.
// Errors: kNotFound (401/403/404), kIoError (network, disk full, checksum mismatch).
FetchedFile fetch_repo_file(const HubSettings& hub, const RepoId& repo, const std::string& commit,
                            const RepoFile& file, const ProgressFn& progress);

// refs/{revision} := commit (written whole, through a rename).
void write_hf_ref(const RepoId& repo, const std::string& revision, const std::string& commit);

}  // namespace fvlm::hub
