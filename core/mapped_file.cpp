#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace fvlm {
namespace {
// Every live mapping's range, so drop_resident_range can tell file pages from any other memory.
struct Mapping {
  const uint8_t* begin;
  size_t size;
};
std::mutex g_mappings_mutex;
std::vector<Mapping>& live_mappings() {
  static std::vector<Mapping> v;
  return v;
}
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const Errc c = errno == ENOENT ? Errc::kNotFound : Errc::kBadModel;
    throw Error(c, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(Errc::kBadModel, fmt::format("{} is not a regular file", path));
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw Error(Errc::kBadModel, fmt::format("cannot map {}: {}", path, std::strerror(errno)));
    }
    m->data_ = static_cast<const uint8_t*>(p);
    std::lock_guard lock(g_mappings_mutex);
    live_mappings().push_back({m->data_, m->size_});
  }
  ::close(fd);
  return m;
}

void MappedFile::drop_resident_pages() const {
  // MAP_PRIVATE, read-only, never written: MADV_DONTNEED drops clean file pages, contents unchanged.
  if (data_) ::madvise(const_cast<uint8_t*>(data_), size_, MADV_DONTNEED);
}

bool MappedFile::drop_resident_range(const void* p, size_t bytes) {
  const auto* b = static_cast<const uint8_t*>(p);
  std::lock_guard lock(g_mappings_mutex);
  for (const Mapping& m : live_mappings()) {
    if (b < m.begin || b + bytes > m.begin + m.size) continue;
    // Whole pages inside the range only: the partial pages at its ends may hold other tensors.
    const auto page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = (uintptr_t(b) + page - 1) / page * page, hi = (uintptr_t(b) + bytes) / page * page;
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    return true;
  }
  return false;
}

MappedFile::~MappedFile() {
  if (!data_) return;
  {
    std::lock_guard lock(g_mappings_mutex);
    std::vector<Mapping>& v = live_mappings();
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i].begin == data_) {
        v.erase(v.begin() + std::ptrdiff_t(i));
        break;
      }
  }
  ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace fvlm
