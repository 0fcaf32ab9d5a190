// The -o file of a batch: append-only JSON Lines where every line is whole. One process writes it
// at a time (an exclusive flock), each line goes out in one write(2) on an O_APPEND descriptor, a
// torn tail left by a killed run is cut back before anything is appended, and every failed write
// is an Error{kIoError} (a result that is not on disk must not look saved).
#pragma once
#include <cstdint>
#include <set>
#include <string>

namespace fvlm::cli {

class ResultFile {
 public:
  // Opens or creates `path`, locks it, repairs a torn tail (said on stderr). Throws Error{kIoError}
  // when it cannot be opened or another process holds the lock.
  explicit ResultFile(const std::string& path);
  ~ResultFile();
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;

  // The "key" of every ok line already in the file (lines without one, or not JSON, are redone).
  std::set<std::string> done_keys() const;
  // Appends `json_line` + '\n' in one write. A short write to a regular file (disk full) is cut
  // back off the file and thrown as Error{kIoError}, as is any failed write.
  void append(const std::string& json_line);
  // Flushes the file to the disk and closes it; a write error the kernel held back is thrown now.
  void close();

  const std::string& path() const { return path_; }
  int64_t lines_appended() const { return lines_; }
  int64_t lines_before() const { return lines_before_; }

 private:
  void cut_torn_tail();

  int fd_ = -1;
  std::string path_;
  bool regular_ = false;  // a pipe or device (-o /dev/stdout) is neither read nor truncated
  int64_t lines_ = 0;
  int64_t lines_before_ = 0;
};

}  // namespace fvlm::cli
