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
#include "core/half.h"
#include "core/parallel.h"
#include "models/convert_parts.h"
#include "quant/blocks.h"

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
  // Straight into the writer's chunk (no per-chunk tensor), row by row as quant::quantize does, so
  // the bytes are its bytes (tests/unit/test_convert_stream.cpp).
  return [src, from, dtype, &pages](int64_t r0, int64_t r1, uint8_t* out) {
    const int64_t cols = src.dim(-1);
    const int64_t in_row = dtype_bytes(from, cols), out_row = dtype_bytes(dtype, cols);
    const auto* first = static_cast<const uint8_t*>(src.data()) + r0 * in_row;
    parallel_for(r1 - r0, 16, [&](int64_t a, int64_t b) {
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = a; r < b; ++r) {
        const uint8_t* s = first + r * in_row;
        uint8_t* o = out + r * out_row;
        if (from == DType::F32) {
          std::memcpy(row.data(), s, size_t(in_row));
        } else {
          for (int64_t j = 0; j < cols; ++j) {
            uint16_t h;
            std::memcpy(&h, s + 2 * j, 2);
            row[size_t(j)] = from == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
          }
        }
        switch (dtype) {
          case DType::F32:
            std::memcpy(o, row.data(), size_t(out_row));
            break;
          case DType::F16:
          case DType::BF16:
            for (int64_t j = 0; j < cols; ++j) {
              const uint16_t h =
                  dtype == DType::F16 ? f32_to_f16(row[size_t(j)]) : f32_to_bf16(row[size_t(j)]);
              std::memcpy(o + 2 * j, &h, 2);
            }
            break;
          case DType::Q8_0:
            quant::quantize_row_q8_0(row.data(), reinterpret_cast<quant::BlockQ8_0*>(o), cols);
            break;
          case DType::Q4_0:
            quant::quantize_row_q4_0_min_error(row.data(), reinterpret_cast<quant::BlockQ4_0*>(o), cols);
            break;
          default:
            break;
        }
      }
    });
    pages.release(first, size_t((r1 - r0) * in_row));
  };
}

}  // namespace fvlm
