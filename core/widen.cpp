#include "core/widen.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace fvlm {
namespace {
constexpr Variant<WidenFn> kBf16[] = {
    {"ref", CpuFeature::kNone, widen_bf16_ref},
    {"avx2", CpuFeature::kAvx2, widen_bf16_avx2},
};
constexpr Variant<WidenFn> kF16[] = {
    {"ref", CpuFeature::kNone, widen_f16_ref},
    {"avx2", CpuFeature::kAvx2, widen_f16_avx2},
};
}  // namespace

void widen_bf16_ref(const uint16_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void widen_f16_ref(const uint16_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

std::span<const Variant<WidenFn>> widen_variants(DType t) {
  if (t == DType::BF16) return kBf16;
  FVLM_CHECK(t == DType::F16, std::string("no widen for ") + std::string(dtype_name(t)));
  return kF16;
}

WidenFn best_widen(DType t) {
  static const WidenFn bf16 = pick("widen_bf16", kBf16).fn;
  static const WidenFn f16 = pick("widen_f16", kF16).fn;
  if (t == DType::BF16) return bf16;
  FVLM_CHECK(t == DType::F16, std::string("no widen for ") + std::string(dtype_name(t)));
  return f16;
}

void widen_rows(const Tensor& m, int64_t row_begin, int64_t row_end, float* dst) {
  const int64_t cols = m.dim(-1), n = (row_end - row_begin) * cols;
  if (m.dtype() == DType::F32) {
    std::memcpy(dst, m.f32() + row_begin * cols, size_t(n) * sizeof(float));
    return;
  }
  if (m.dtype() != DType::BF16 && m.dtype() != DType::F16)
    throw Error(Errc::kUnsupported, fmt::format("cannot widen a {} matrix", dtype_name(m.dtype())));
  best_widen(m.dtype())(static_cast<const uint16_t*>(m.data()) + row_begin * cols, n, dst);
}

}  // namespace fvlm
