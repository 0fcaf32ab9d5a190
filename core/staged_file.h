// A file written under a temporary identity and given its name only when complete: a failed or
// interrupted writer never leaves a partial file where a complete one is expected, and the previous
// complete file stays untouched until the new one replaces it (rename(2) is atomic).
//
// The temporary is an unnamed O_TMPFILE inode in the destination directory, so a writer killed by
// any signal while writing leaves nothing behind (it is named "<path>.tmp<pid>" only between
// finish() and the rename); on filesystems without O_TMPFILE it is "<path>.tmp<pid>" throughout,
// removed on failure (only a SIGKILL can then leave it). Data goes out with write(2): no mapping of
// the output, so written pages are page cache, never the writer's RSS.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fvlm {

class StagedFile {
 public:
  // Creates the temporary file next to `path`. Error{kIoError} if the directory refuses it.
  explicit StagedFile(std::string path);
  ~StagedFile();  // not committed: the temporary file is discarded
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  // Appends n bytes. Error{kIoError} naming the path and errno (disk full, file too large, EIO).
  void write(const void* data, size_t n);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Flushes the data to disk and closes the file: every step that can fail but the rename.
  // Error{kIoError} on failure (the temporary is then discarded, the old file kept).
  void finish();
  // finish() if not yet done, then gives the file its name, replacing any file there (one
  // rename(2)). Finishing every file of a set first makes its renames all but certain to succeed.
  void commit();

 private:
  void discard();
  std::string path_;
  std::string temp_name_;  // empty while the temporary is unnamed (O_TMPFILE)
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace fvlm
