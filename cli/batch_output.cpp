#include "cli/batch_output.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"

namespace fvlm::cli {
namespace {

[[noreturn]] void throw_io(const std::string& what, int err) {
  throw Error(Errc::kIoError, fmt::format("{}: {}", what, std::strerror(err)));
}

// Calls `on_chunk(offset, bytes)` over the first `size` bytes of fd, front to back.
template <class F>
void read_chunks(int fd, int64_t size, F&& on_chunk) {
  std::vector<char> buf(1 << 20);
  for (int64_t off = 0; off < size;) {
    const ssize_t n =
        ::pread(fd, buf.data(), size_t(std::min<int64_t>(int64_t(buf.size()), size - off)), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    on_chunk(off, std::string_view(buf.data(), size_t(n)));
    off += n;
  }
}

int64_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? int64_t(st.st_size) : -1;
}

}  // namespace

ResultFile::ResultFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0 && errno == EACCES)
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);  // write-only device
  if (fd_ < 0) throw_io(fmt::format("cannot open the output {}", path), errno);
  // A second fastvlm appending to the same file would answer every image again and could tear
  // lines: refuse it at once (flock is per open file, so it also holds across NFS clients on Linux).
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      ::close(fd_);
      fd_ = -1;
      throw Error(
          Errc::kIoError,
          fmt::format("the output {} is locked by another fastvlm batch still writing it; wait for it, or "
                      "split the work with --shard K/N and -o 'results-{{shard}}.jsonl'",
                      path));
    }
    spdlog::warn("{}: cannot lock ({}); make sure no other process appends to it", path, std::strerror(err));
  }
  struct stat st {};
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (regular_) {
    cut_torn_tail();
    read_chunks(fd_, file_size(fd_),
                [&](int64_t, std::string_view s) { lines_before_ += std::count(s.begin(), s.end(), '\n'); });
  }
}

ResultFile::~ResultFile() {
  if (fd_ >= 0) ::close(fd_);  // the lock goes with the descriptor
}

// A run killed in the middle of a write (or a full disk) can leave a last line without its '\n'.
// Appending after it would glue the next result onto it and lose both; cut it off instead.
void ResultFile::cut_torn_tail() {
  const int64_t size = file_size(fd_);
  if (size <= 0) return;
  char last = 0;
  if (::pread(fd_, &last, 1, size - 1) != 1) throw_io(fmt::format("cannot read the output {}", path_), errno);
  if (last == '\n') return;
  int64_t keep = 0;  // just after the last '\n'
  read_chunks(fd_, size, [&](int64_t off, std::string_view s) {
    if (const size_t nl = s.rfind('\n'); nl != std::string_view::npos) keep = off + int64_t(nl) + 1;
  });
  if (::ftruncate(fd_, keep) != 0) throw_io(fmt::format("cannot cut the torn last line of {}", path_), errno);
  spdlog::warn(
      "{}: cut a torn last line ({} bytes without a newline, from an interrupted run) before appending",
      path_, size - keep);
}

std::set<std::string> ResultFile::done_keys() const {
  std::set<std::string> done;
  if (!regular_) return done;
  std::string pending;
  auto take = [&](std::string_view line) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("ok", false) && j.contains("key") && j["key"].is_string())
      done.insert(j["key"].get<std::string>());
  };
  read_chunks(fd_, file_size(fd_), [&](int64_t, std::string_view s) {
    for (size_t nl; (nl = s.find('\n')) != std::string_view::npos; s.remove_prefix(nl + 1)) {
      pending.append(s.substr(0, nl));
      take(pending);
      pending.clear();
    }
    pending.append(s);
  });
  return done;
}

void ResultFile::append(const std::string& json_line) {
  const std::string line = json_line + '\n';
  // We hold the lock, so the end of the file is where this line will start.
  const int64_t start = regular_ ? file_size(fd_) : -1;
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;  // nothing was written
    if (n < 0) throw_io(fmt::format("cannot write to the output {}", path_), errno);
    written += size_t(n);
    if (written < line.size() && regular_) {
      // A short write to a file means the disk is full: take the fragment back off, so the file
      // ends with a whole line, and stop.
      const bool cut = start >= 0 && ::ftruncate(fd_, start) == 0;
      throw Error(Errc::kIoError,
                  fmt::format("short write to the output {} ({} of {} bytes; disk full?){}", path_, written,
                              line.size(), cut ? "" : "; the torn line is cut on --resume"));
    }
    // A pipe or terminal may take a long line in parts: the rest follows, the reader sees it whole.
  }
  ++lines_;
}

void ResultFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  // Write-back errors (EIO, ENOSPC on NFS) surface at fsync or close, not at write.
  if (regular_ && ::fdatasync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    ::close(fd);
    throw_io(fmt::format("cannot flush the output {}", path_), err);
  }
  if (::close(fd) != 0 && errno != EINTR) throw_io(fmt::format("cannot close the output {}", path_), errno);
}

}  // namespace fvlm::cli
