// A read-only memory map of a whole file. Model files are mapped, never read into RAM, so that
// loading is instant from the page cache and several processes share one copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace fvlm {

class MappedFile {
 public:
  // Throws Error{kNotFound} if the file is missing, Error{kBadModel} if it cannot be mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Unmaps the pages read so far from this process (no longer counted in its RSS); they stay in the
  // page cache and come back on the next read. For data already copied elsewhere (packed weights).
  void drop_resident_pages() const;
  // The same for the whole pages of [p, p + bytes) when that range lies in a live MappedFile, and
  // nothing otherwise (heap memory must never be dropped: MADV_DONTNEED would zero it). For a
  // tensor copied out of whichever file it came from. Returns whether pages were dropped.
  static bool drop_resident_range(const void* p, size_t bytes);

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace fvlm
