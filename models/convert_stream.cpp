// convert, streaming: row chunks converted from the mapped checkpoint, and the source pages given
// back once converted. Without the release, every page of the checkpoint read stays mapped into the
// process: the 7B conversion peaked at 15.5 GB RSS (the whole BF16 checkpoint).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "models/convert_parts.h"
#include "quant/matmul_quant.h"

namespace fvlm {

SourcePages::SourcePages() {
  // "begin-end perms offset dev inode path": read-only private file mappings of .safetensors files
  // (core/mapped_file.cpp maps them PROT_READ, MAP_PRIVATE).
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    if (!(in >> range >> perms >> offset >> dev >> inode) || perms != "r--p") continue;
    std::getline(in >> std::ws, path);
    constexpr std::string_view kExt = ".safetensors";
    if (path.size() < kExt.size() || path.compare(path.size() - kExt.size(), kExt.size(), kExt) != 0)
      continue;
    const size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    ranges_.emplace_back(std::stoull(range.substr(0, dash), nullptr, 16),
                         std::stoull(range.substr(dash + 1), nullptr, 16));
  }
}

void SourcePages::release(const void* data, size_t n) const {
  const auto p = reinterpret_cast<uintptr_t>(data);
  for (const auto& [begin, end] : ranges_) {
    if (p < begin || p + n > end) continue;
    // Whole pages around the bytes, within the mapping: a page shared with the next tensor is
    // simply read again from the page cache.
    const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = std::max(begin, p / page * page),
                    hi = std::min(end, (p + n + page - 1) / page * page);
    ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    return;
  }
}

GgufWriter::RowFill convert_rows(const Tensor& src, DType dtype, const SourcePages& pages) {
  const DType from = src.dtype();
  FVLM_CHECK(from == DType::F32 || from == DType::F16 || from == DType::BF16,
             "convert_rows: source must be F32/F16/BF16");
  FVLM_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::Q8_0 ||
                 dtype == DType::Q4_0,
             "convert_rows: unsupported target");
  // Straight into the writer's chunk (no per-chunk tensor), with quant::quantize's row loop, so the
  // bytes are its bytes (tests/unit/test_convert_stream.cpp).
  return [src, from, dtype, &pages](int64_t r0, int64_t r1, uint8_t* out) {
    const int64_t cols = src.dim(-1);
    const auto* first = static_cast<const uint8_t*>(src.data()) + r0 * dtype_bytes(from, cols);
    quant::convert_rows(first, from, r1 - r0, cols, dtype, out);
    pages.release(first, size_t((r1 - r0) * dtype_bytes(from, cols)));
  };
}

}  // namespace fvlm
