#include "cli/hub/hub_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/hub/sha256.h"
#include "core/error.h"

namespace fvlm::hub {
namespace fs = std::filesystem;
namespace {

// Retries of a GET that received nothing new; one that made progress resets the count.
constexpr int kMaxStalls = 3;

struct FileMeta {
  std::string etag, commit, location;  // location: where to GET the bytes
  int64_t size = -1;
  bool redirected = false;  // LFS: the bytes live on the CDN
};

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::kIoError, fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

std::string origin_of(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// huggingface_hub's _normalize_etag: the value without W/ and quotes. It becomes a file name.
std::string normalize_etag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

bool safe_file_name(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

// A repository path that stays inside the snapshot folder.
bool safe_repo_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos || p.find('\0') != std::string::npos)
    return false;
  for (const auto& part : fs::path(p))
    if (part == ".." || part == ".") return false;
  return true;
}

// HEAD without following redirects, except relative ones (a renamed repository), as
// huggingface_hub's get_hf_file_metadata does: an absolute Location is the CDN and carries no token.
FileMeta head_file(const HubSettings& hub, std::string url, const std::string& what) {
  for (int hop = 0; hop < 5; ++hop) {
    const HttpResponse res = http_request({url, hub_headers(hub), true, false, -1});
    const bool redirect = res.status >= 300 && res.status < 400;
    if (!res.error.empty() || (!redirect && res.status != 200)) throw_hub_error(hub, res, url, what);
    const std::string location = res.header("location");
    if (redirect && !location.empty() && location.front() == '/') {
      url = origin_of(url) + location;
      continue;
    }
    FileMeta m;
    m.etag = normalize_etag(res.header("x-linked-etag").empty() ? res.header("etag")
                                                                : res.header("x-linked-etag"));
    m.commit = res.header("x-repo-commit");
    const std::string size =
        res.header("x-linked-size").empty() ? res.header("content-length") : res.header("x-linked-size");
    if (!size.empty()) m.size = std::strtoll(size.c_str(), nullptr, 10);
    m.redirected = redirect;
    m.location = redirect ? location : url;
    if (redirect && location.empty())
      throw Error(Errc::kIoError, fmt::format("{}: the Hub redirected without a Location", what));
    if (!safe_file_name(m.etag))
      throw Error(Errc::kIoError, fmt::format("{}: the Hub gave no usable ETag ('{}')", what, m.etag));
    return m;
  }
  throw Error(Errc::kIoError, fmt::format("{}: too many redirects from {}", what, url));
}

// flock on the lock file huggingface_hub uses for the same blob (filelock takes flock too).
class BlobLock {
 public:
  BlobLock(const std::string& path, const std::string& what) {
    fs::create_directories(fs::path(path).parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) io_error("create the lock file", path, errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    spdlog::warn("{}: another process is downloading it; waiting", what);
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) io_error("lock", path, errno);
  }
  ~BlobLock() { ::close(fd_); }  // closing releases the lock
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

// The partial file being written, and the digest of its bytes so far: hashing as the bytes arrive
// spares reading a multi-GB file again at the end (a resumed file's prefix is read once, at start).
struct Download {
  int fd = -1;
  int64_t have = 0;
  int err = 0;  // errno of a failed write
  bool range_mismatch = false;
  std::unique_ptr<Sha256> sha = std::make_unique<Sha256>();
  bool restart() {  // back to an empty file
    if (::ftruncate(fd, 0) != 0) return false;
    have = 0;
    sha = std::make_unique<Sha256>();
    return true;
  }
};

// One GET appending to d.fd from d.have on. A 200 to a range request restarts the file.
HttpResponse get_into(const HubSettings& hub, const FileMeta& meta, Download& d, const RepoFile& file,
                      int64_t total, const ProgressFn& progress) {
  HttpRequest req{meta.location, {"Accept-Encoding: identity"}, false, true, d.have > 0 ? d.have : -1};
  // The token goes to the endpoint only: a CDN address is signed, and must not see it.
  if (origin_of(meta.location) == origin_of(hub.endpoint)) req.headers = hub_headers(hub);
  bool first = true;
  return http_request(req, [&](const HttpResponse& head, const char* data, size_t n) {
    if (first) {
      first = false;
      if (head.status == 200 && d.have > 0) {  // the server ignored the range: start over
        if (!d.restart()) return d.err = errno, false;
      } else if (head.status == 206) {
        const std::string range = head.header("content-range");  // "bytes N-M/T"
        if (range.rfind(fmt::format("bytes {}-", d.have), 0) != 0) return d.range_mismatch = true, false;
      }
    }
    d.sha->update(data, n);
    while (n > 0) {
      const ssize_t w = ::write(d.fd, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return d.err = (w < 0 ? errno : ENOSPC), false;
      data += w;
      n -= size_t(w);
      d.have += w;
    }
    if (progress) progress(file.name, d.have, total, false);
    return true;
  });
}

// blobs/{etag}.incomplete, resumed and retried until complete, verified, renamed to blobs/{etag}.
int64_t download_blob(const HubSettings& hub, const FileMeta& meta, const RepoFile& file,
                      const std::string& blob, const std::string& what, const ProgressFn& progress) {
  const std::string incomplete = blob + ".incomplete";
  const int64_t total = file.size >= 0 ? file.size : meta.size;
  Download d;
  d.fd = ::open(incomplete.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (d.fd < 0) io_error("create", incomplete, errno);
  struct stat st {};
  if (::fstat(d.fd, &st) == 0) d.have = st.st_size;
  if (total >= 0 && d.have > total && !d.restart()) io_error("truncate", incomplete, errno);  // not ours
  if (d.have > 0) sha256_update_file(*d.sha, incomplete);
  const int64_t resumed_from = d.have;
  if (resumed_from > 0) spdlog::info("{}: resuming at byte {} of {}", what, resumed_from, total);
  std::string last_error;
  for (int stalls = 0; total < 0 || d.have < total;) {
    const int64_t before = d.have;
    const HttpResponse res = get_into(hub, meta, d, file, total, progress);
    if (d.err) {
      ::close(d.fd);
      io_error("write", incomplete, d.err);  // disk full: the partial file stays, to resume later
    }
    if (res.status == 416 && total >= 0 && d.have != total) {  // our partial file is not theirs
      if (!d.restart()) io_error("truncate", incomplete, errno);
      continue;
    }
    if (res.status != 0 && (res.status < 200 || res.status >= 300) && res.status != 416) {
      ::close(d.fd);
      throw_hub_error(hub, res, meta.location, what);
    }
    if (res.error.empty() && !d.range_mismatch) break;
    last_error = d.range_mismatch ? "the server answered another byte range" : res.error;
    d.range_mismatch = false;
    stalls = d.have > before ? 0 : stalls + 1;
    if (stalls >= kMaxStalls) {
      ::close(d.fd);
      throw Error(Errc::kIoError,
                  fmt::format("{}: download interrupted ({}); {} of {} bytes are kept in {}: run the same "
                              "command again to resume",
                              what, last_error, d.have, total, incomplete));
    }
    spdlog::warn("{}: connection lost after {} bytes ({}); resuming", what, d.have, last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(250 * stalls));
  }
  if (::fdatasync(d.fd) != 0) {
    const int err = errno;
    ::close(d.fd);
    io_error("write", incomplete, err);
  }
  ::close(d.fd);
  if (total >= 0 && d.have != total) {
    ::unlink(incomplete.c_str());
    throw Error(Errc::kIoError,
                fmt::format("{}: received {} bytes, the Hub announced {}; the download was discarded", what,
                            d.have, total));
  }
  // LFS files carry their sha256: a download that does not match it is deleted, never kept.
  const std::string expected = !file.lfs_sha256.empty() ? file.lfs_sha256 : meta.redirected ? meta.etag : "";
  if (expected.size() == 64) {
    const std::string got = d.sha->hex();
    if (got != expected) {
      ::unlink(incomplete.c_str());
      throw Error(Errc::kIoError,
                  fmt::format("{}: checksum mismatch: the Hub's LFS metadata says sha256 {}, the "
                              "download has {}; the file was discarded: run pull again",
                              what, expected, got));
    }
  }
  if (::rename(incomplete.c_str(), blob.c_str()) != 0) io_error("rename", incomplete, errno);
  if (progress) progress(file.name, d.have, total, true);
  return d.have - resumed_from;
}

// snapshots/{commit}/{file} -> ../../blobs/{etag} (relative: the cache can move), replaced whole.
void link_snapshot(const fs::path& pointer, const fs::path& blob) {
  fs::create_directories(pointer.parent_path());
  const fs::path target = blob.lexically_relative(pointer.parent_path());
  const std::string temp = pointer.string() + fmt::format(".tmp{}", ::getpid());
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) io_error("link", pointer.string(), errno);
  if (::rename(temp.c_str(), pointer.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    io_error("link", pointer.string(), err);
  }
}

}  // namespace

FetchedFile fetch_repo_file(const HubSettings& hub, const RepoId& repo, const std::string& commit,
                            const RepoFile& file, const ProgressFn& progress) {
  const std::string what = fmt::format("{}/{}", repo.str(), file.name);
  if (!safe_repo_path(file.name))
    throw Error(Errc::kIoError, fmt::format("{}: the Hub listed a file name that leaves the folder", what));
  const fs::path repo_dir = hf_repo_dir(repo);
  const fs::path pointer = repo_dir / "snapshots" / commit / file.name;
  std::error_code ec;
  if (fs::is_regular_file(pointer, ec)) {  // follows the link: the blob is there
    if (progress)
      progress(file.name, int64_t(fs::file_size(pointer, ec)), int64_t(fs::file_size(pointer, ec)), true);
    return {file.name, int64_t(fs::file_size(pointer, ec)), 0, true};
  }
  const std::string url = fmt::format("{}/{}/{}/resolve/{}/{}", hub.endpoint, repo.org, repo.name, commit,
                                      url_escape(file.name, true));
  const FileMeta meta = head_file(hub, url, what);
  if (!meta.commit.empty() && meta.commit != commit)
    spdlog::warn("{}: the Hub serves commit {} for {}", what, meta.commit, commit);
  const fs::path blob = repo_dir / "blobs" / meta.etag;
  fs::create_directories(blob.parent_path(), ec);
  if (ec)
    throw Error(Errc::kIoError,
                fmt::format("cannot create {}: {}", blob.parent_path().string(), ec.message()));
  int64_t downloaded = 0;
  if (!fs::is_regular_file(blob, ec)) {
    const BlobLock lock(
        fmt::format("{}/.locks/models--{}--{}/{}.lock", hf_hub_cache_dir(), repo.org, repo.name, meta.etag),
        what);
    if (!fs::is_regular_file(blob, ec))
      downloaded = download_blob(hub, meta, file, blob.string(), what, progress);
  }
  link_snapshot(pointer, blob);
  const int64_t bytes = int64_t(fs::file_size(blob, ec));
  if (downloaded == 0 && progress) progress(file.name, bytes, bytes, true);
  return {file.name, bytes, downloaded, downloaded == 0};
}

void write_hf_ref(const RepoId& repo, const std::string& revision, const std::string& commit) {
  if (!safe_repo_path(revision))
    throw Error(Errc::kBadArgs, fmt::format("--revision '{}' is not a usable revision name", revision));
  const fs::path ref = fs::path(hf_repo_dir(repo)) / "refs" / revision;
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  const std::string temp = ref.string() + fmt::format(".tmp{}", ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error("create", temp, errno);
  const bool ok = ::write(fd, commit.data(), commit.size()) == ssize_t(commit.size());
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), ref.c_str()) != 0) {
    ::unlink(temp.c_str());
    io_error("write", ref.string(), ok ? errno : err);
  }
}

}  // namespace fvlm::hub
