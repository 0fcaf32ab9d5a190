// Variant tables, dispatch and the threaded entry points of the quantised matmul; the tensor
// quantiser used by `convert`.
#include "quant/matmul_quant.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "core/parallel.h"
#include "quant/dequantize.h"
#include "quant/packed.h"
#include "quant/quantize_acts.h"

namespace fvlm::quant {
namespace {

constexpr MatmulVariant kQ8_0Variants[] = {
    {"ref", CpuFeature::kNone, matmul_q8_0_ref},
    {"avx2", CpuFeature::kAvx2, matmul_q8_0_avx2},
    {"avxvnni", CpuFeature::kAvxVnni, matmul_q8_0_avxvnni},
    {"avx512vnni", CpuFeature::kAvx512Vnni, matmul_q8_0_avx512},
};
constexpr MatmulVariant kQ4_0Variants[] = {
    {"ref", CpuFeature::kNone, matmul_q4_0_ref},
    {"avx2", CpuFeature::kAvx2, matmul_q4_0_avx2},
    {"avxvnni", CpuFeature::kAvxVnni, matmul_q4_0_avxvnni},
    {"avx512vnni", CpuFeature::kAvx512Vnni, matmul_q4_0_avx512},
};
constexpr MatmulVariant kQ8_0R16Variants[] = {
    {"ref", CpuFeature::kNone, matmul_q8_0_r16_ref},
    {"avx2", CpuFeature::kAvx2, matmul_q8_0_r16_avx2},
    {"avxvnni", CpuFeature::kAvxVnni, matmul_q8_0_r16_avxvnni},
    {"avx512vnni", CpuFeature::kAvx512Vnni, matmul_q8_0_r16_avx512},
    {"amx", CpuFeature::kAmxInt8, matmul_q8_0_r16_amx},
};
constexpr MatmulVariant kQ4_0R16Variants[] = {
    {"ref", CpuFeature::kNone, matmul_q4_0_r16_ref},
    {"avx2", CpuFeature::kAvx2, matmul_q4_0_r16_avx2},
    {"avxvnni", CpuFeature::kAvxVnni, matmul_q4_0_r16_avxvnni},
    {"avx512vnni", CpuFeature::kAvx512Vnni, matmul_q4_0_r16_avx512},
    {"amx", CpuFeature::kAmxInt8, matmul_q4_0_r16_amx},
};

}  // namespace

std::span<const MatmulVariant> matmul_q8_0_variants() { return kQ8_0Variants; }
std::span<const MatmulVariant> matmul_q4_0_variants() { return kQ4_0Variants; }
std::span<const MatmulVariant> matmul_q8_0_r16_variants() { return kQ8_0R16Variants; }
std::span<const MatmulVariant> matmul_q4_0_r16_variants() { return kQ4_0R16Variants; }

namespace {
// Each weight type's table, under the name its pick is logged with.
struct TypeVariants {
  DType type;
  std::string_view op;
  std::span<const MatmulVariant> table;
};
constexpr TypeVariants kByType[] = {{DType::Q8_0, "matmul_q8_0", kQ8_0Variants},
                                    {DType::Q4_0, "matmul_q4_0", kQ4_0Variants},
                                    {DType::Q8_0_R16, "matmul_q8_0_r16", kQ8_0R16Variants},
                                    {DType::Q4_0_R16, "matmul_q4_0_r16", kQ4_0R16Variants}};

size_t type_index(DType t) {
  for (size_t i = 0; i < std::size(kByType); ++i)
    if (kByType[i].type == t) return i;
  throw Error(Errc::kUnsupported, fmt::format("matmul_quant: {} weights", dtype_name(t)));
}
}  // namespace

std::span<const MatmulVariant> matmul_variants(DType t) { return kByType[type_index(t)].table; }

const MatmulVariant& best_matmul(DType weight_type) {
  // Resolved once (thread-safe static init): the CPU does not change while we run.
  static const std::vector<const MatmulVariant*> best = [] {
    std::vector<const MatmulVariant*> v;
    for (const TypeVariants& t : kByType) v.push_back(&pick(t.op, t.table));
    return v;
  }();
  return *best[type_index(weight_type)];
}

namespace {
void check_weight(const Tensor& w, int64_t K) {
  FVLM_CHECK(is_block_quantized(w.dtype()), "matmul_quant: weight must be Q8_0/Q4_0 (or packed)");
  FVLM_CHECK(w.rank() == 2 && w.dim(1) == K && K % kBlock == 0,
             fmt::format("matmul_quant: weight {} vs K={}", shape_str(w.shape()), K));
}

// Threads take weight rows in groups of 16: a packed group is never split between two of them.
int64_t groups(int64_t rows) { return (rows + kPackRows - 1) / kPackRows; }

// x [M, K] as int8 blocks, in buffers each thread keeps (decode calls this ~170 times a token).
QuantizedRows quantize_x(const float* x, int64_t M, int64_t K) {
  thread_local std::vector<int8_t> qs;
  thread_local std::vector<float> d;
  thread_local std::vector<int32_t> sum;
  const int64_t nb = K / kBlock;
  qs.resize(size_t(M * K));
  d.resize(size_t(M * nb));
  sum.resize(size_t(M * nb));
  int8_t* q = qs.data();
  float* dd = d.data();
  int32_t* s = sum.data();
  const QuantizeActsFn quantize_row = best_quantize_acts();  // bit-identical to quantize_acts_row
  parallel_for(M, 8, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) quantize_row(x + m * K, K, q + m * K, dd + m * nb, s + m * nb);
  });
  return {M, K, q, dd, s};
}
}  // namespace

void* thread_scratch(int64_t bytes) {
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  thread_local std::vector<Line> lines;
  if (int64_t(lines.size()) * 64 < bytes) lines.resize(size_t((bytes + 63) / 64));
  return lines.data();
}

void matmul_quant(const float* x, int64_t M, int64_t K, const Tensor& w, float* y) {
  const QuantOut one{&w, y};
  matmul_quant_multi(x, M, K, {&one, 1});
}

void matmul_quant(const float* x, int64_t M, int64_t K, const Tensor& w, float* y,
                  const MatmulVariant& variant) {
  check_weight(w, K);
  const QuantizedRows xq = quantize_x(x, M, K);
  const int64_t N = w.dim(0);
  const QuantMatrix wm{w.dtype(), N, K, static_cast<const uint8_t*>(w.data())};
  parallel_for(groups(N), 1, [&](int64_t g0, int64_t g1) {
    variant.fn(xq, wm, g0 * kPackRows, std::min(N, g1 * kPackRows), y, N);
  });
}

void matmul_quant_multi(const float* x, int64_t M, int64_t K, std::span<const QuantOut> outs) {
  for (const QuantOut& o : outs) check_weight(*o.w, K);
  const QuantizedRows xq = quantize_x(x, M, K);
  parallel_for_parts(
      outs, [](const QuantOut& o) { return groups(o.w->dim(0)); }, 1,
      [&](const QuantOut& o, int64_t g0, int64_t g1) {
        const int64_t N = o.w->dim(0);
        const QuantMatrix wm{o.w->dtype(), N, K, static_cast<const uint8_t*>(o.w->data())};
        best_matmul(o.w->dtype()).fn(xq, wm, g0 * kPackRows, std::min(N, g1 * kPackRows), o.y, N);
      });
}

Tensor quantize(const Tensor& w, DType target) {
  const DType src = w.dtype();
  if (src != DType::F32 && src != DType::F16 && src != DType::BF16)
    throw Error(Errc::kUnsupported,
                fmt::format("quantize: source dtype {} is not F32/F16/BF16", dtype_name(src)));
  const int64_t cols = w.rank() == 0 ? 1 : w.dim(-1);
  const int64_t rows = cols == 0 ? 0 : w.numel() / cols;
  if ((target == DType::Q8_0 || target == DType::Q4_0) && cols % kBlock != 0)
    throw Error(Errc::kUnsupported, fmt::format("quantize: {} needs a last dimension divisible by 32, got {}",
                                                dtype_name(target), shape_str(w.shape())));
  if (target != DType::F32 && target != DType::F16 && target != DType::BF16 && target != DType::Q8_0 &&
      target != DType::Q4_0)
    throw Error(Errc::kUnsupported, fmt::format("quantize: target {} is not supported", dtype_name(target)));
  Tensor out = Tensor::zeros(target, w.shape());
  convert_rows(static_cast<const uint8_t*>(w.data()), src, rows, cols, target,
               static_cast<uint8_t*>(out.mutable_data()));
  return out;
}

void convert_rows(const uint8_t* in, DType from, int64_t rows, int64_t cols, DType to, uint8_t* out) {
  const int64_t in_row = dtype_bytes(from, cols), out_row = dtype_bytes(to, cols);
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* s = in + r * in_row;
      if (from == DType::F32) {
        std::memcpy(row.data(), s, size_t(in_row));
      } else {
        for (int64_t j = 0; j < cols; ++j) {
          uint16_t h;
          std::memcpy(&h, s + 2 * j, 2);
          row[size_t(j)] = from == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
      }
      uint8_t* o = out + r * out_row;
      switch (to) {
        case DType::F32:
          std::memcpy(o, row.data(), size_t(out_row));
          break;
        case DType::F16:
        case DType::BF16:
          for (int64_t j = 0; j < cols; ++j) {
            const uint16_t h = to == DType::F16 ? f32_to_f16(row[size_t(j)]) : f32_to_bf16(row[size_t(j)]);
            std::memcpy(o + 2 * j, &h, 2);
          }
          break;
        case DType::Q8_0:
          quantize_row_q8_0(row.data(), reinterpret_cast<BlockQ8_0*>(o), cols);
          break;
        case DType::Q4_0:
          quantize_row_q4_0_min_error(row.data(), reinterpret_cast<BlockQ4_0*>(o), cols);
          break;
        default:
          break;
      }
    }
  });
}

Tensor dequantize(const Tensor& w) {
  if (!is_block_quantized(w.dtype())) return to_f32(w);
  Tensor out = Tensor::zeros(DType::F32, w.shape());
  dequantize_rows(w, 0, w.numel() / w.dim(-1), out.f32());
  return out;
}

}  // namespace fvlm::quant
