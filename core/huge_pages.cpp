#include "core/huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "core/enum_names.h"
#include "core/error.h"

namespace fvlm {
namespace {
constexpr size_t kHugePage = size_t(2) << 20;
}

// The kernel's words for each mode: the file shows them all and brackets the one in force.
constexpr EnumName<ThpMode> kThpModes[] = {{ThpMode::kAlways, "always"},
                                           {ThpMode::kMadvise, "madvise"},
                                           {ThpMode::kNever, "never"},
                                           {ThpMode::kUnknown, "unknown"}};

ThpMode transparent_huge_pages() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  std::getline(f, line);
  for (const EnumName<ThpMode>& m : kThpModes) {
    std::string word = "[";  // append(): GCC 12's false -Wrestrict on "[" + std::string (bug 105329)
    word.append(m.name).append("]");
    if (line.find(word) != std::string::npos) return m.value;
  }
  return ThpMode::kUnknown;
}

std::string_view thp_mode_name(ThpMode m) { return enum_name<ThpMode>(kThpModes, m); }

std::shared_ptr<uint8_t> allocate_huge_pages(size_t bytes) {
  // Over-allocate by one huge page and trim both ends, so the block starts on a 2 MB boundary
  // (a huge page can only back an aligned 2 MB range).
  const size_t len = (std::max<size_t>(bytes, 1) + kHugePage - 1) / kHugePage * kHugePage;
  void* raw = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    throw Error(Errc::kOutOfMemory, fmt::format("cannot allocate {} MB for the weights: {}",
                                                (bytes + (1 << 20) - 1) >> 20, std::strerror(errno)));
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(raw, aligned - start);
  const size_t tail = (start + len + kHugePage) - (aligned + len);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + len), tail);
  auto* p = reinterpret_cast<uint8_t*>(aligned);
  ::madvise(p, len, MADV_HUGEPAGE);  // EINVAL without THP: then plain pages, still correct
  return std::shared_ptr<uint8_t>(p, [len](uint8_t* q) { ::munmap(q, len); });
}

int64_t huge_page_backed_bytes(const void* p) {
  std::ifstream f("/proc/self/smaps");
  if (!f) return -1;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  std::string line;
  bool inside = false;
  while (std::getline(f, line)) {
    unsigned long lo = 0, hi = 0;
    // A mapping's header line: "lo-hi perms offset dev inode [path]"; its fields follow.
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find('-') < line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    long kb = 0;
    if (inside && std::sscanf(line.c_str(), "AnonHugePages: %ld kB", &kb) == 1) return int64_t(kb) * 1024;
  }
  return -1;
}

}  // namespace fvlm
