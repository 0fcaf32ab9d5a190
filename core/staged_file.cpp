#include "core/staged_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm {
namespace {

[[noreturn]] void io_error(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::kIoError, fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

}  // namespace

StagedFile::StagedFile(std::string path) : path_(std::move(path)) {
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd_ >= 0) return;
  // EOPNOTSUPP / EISDIR (no O_TMPFILE on this filesystem or kernel): a named temporary instead.
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) io_error("create a file in", dir, errno);
  temp_name_ = fmt::format("{}.tmp{}", path_, ::getpid());
  fd_ = ::open(temp_name_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    temp_name_.clear();
    io_error("create", fmt::format("{}.tmp{}", path_, ::getpid()), err);
  }
}

StagedFile::~StagedFile() { discard(); }

void StagedFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_name_.empty()) ::unlink(temp_name_.c_str());
  temp_name_.clear();
}

void StagedFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) io_error("write", path_, w < 0 ? errno : ENOSPC);
    p += w;
    n -= size_t(w);
    size_ += uint64_t(w);
  }
}

void StagedFile::finish() {
  if (fd_ < 0) return;  // finished already
  try {
    if (::fdatasync(fd_) != 0) io_error("write", path_, errno);
    if (temp_name_.empty()) {
      // An unnamed inode gets a name by linkat through /proc (no CAP_DAC_READ_SEARCH needed), so
      // that one rename can then replace the old file.
      temp_name_ = fmt::format("{}.tmp{}", path_, ::getpid());
      ::unlink(temp_name_.c_str());  // a leftover of an earlier killed run with our pid
      const std::string proc = fmt::format("/proc/self/fd/{}", fd_);
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp_name_.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        const int err = errno;
        temp_name_.clear();
        io_error("name", path_, err);
      }
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) io_error("write", path_, errno);
  } catch (...) {
    discard();
    throw;
  }
}

void StagedFile::commit() {
  finish();
  if (temp_name_.empty())
    throw Error(Errc::kIoError, fmt::format("cannot replace {}: already committed", path_));
  if (::rename(temp_name_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    discard();
    io_error("replace", path_, err);
  }
  temp_name_.clear();
}

}  // namespace fvlm
