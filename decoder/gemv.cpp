// GEMV variant tables and the scalar references (the spec for every SIMD variant).
#include "decoder/gemv.h"

#include <algorithm>

#include "core/error.h"
#include "core/half.h"

namespace fvlm::dec {

namespace {
template <class Widen>
void gemv_ref(const uint16_t* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y,
              Widen widen) {
  for (int64_t n = n_begin; n < n_end; ++n) {
    const uint16_t* row = w + n * K;
    float acc = 0.f;
    for (int64_t k = 0; k < K; ++k) acc += widen(row[k]) * x[k];
    y[n] = acc;
  }
}

constexpr GemvVariant kF32[] = {
    {"ref", CpuFeature::kNone, gemv_f32_ref},
    {"avx2", CpuFeature::kAvx2, gemv_f32_avx2},
};
constexpr GemvVariant kBf16[] = {
    {"ref", CpuFeature::kNone, gemv_bf16_ref},
    {"avx2", CpuFeature::kAvx2, gemv_bf16_avx2},
};
constexpr GemvVariant kF16[] = {
    {"ref", CpuFeature::kNone, gemv_f16_ref},
    {"avx2", CpuFeature::kAvx2, gemv_f16_avx2},
};
}  // namespace

void gemv_f32_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  const float* wf = static_cast<const float*>(w);
  for (int64_t n = n_begin; n < n_end; ++n) {
    float acc = 0.f;
    for (int64_t k = 0; k < K; ++k) acc += wf[n * K + k] * x[k];
    y[n] = acc;
  }
}

void gemv_bf16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  gemv_ref(static_cast<const uint16_t*>(w), K, x, n_begin, n_end, y, bf16_to_f32);
}

void gemv_f16_ref(const void* w, int64_t K, const float* x, int64_t n_begin, int64_t n_end, float* y) {
  gemv_ref(static_cast<const uint16_t*>(w), K, x, n_begin, n_end, y, f16_to_f32);
}

void gemv_rows(GemvFn fn, const void* w, DType weight_type, int64_t K, const float* x, int64_t M,
               int64_t n_begin, int64_t n_end, float* y, int64_t ldy) {
  if (M == 1) {  // the plain GEMV: no tiling to gain
    fn(w, K, x, n_begin, n_end, y);
    return;
  }
  const int64_t row_bytes = dtype_bytes(weight_type, K);
  const int64_t tile = std::max<int64_t>(4, 16384 / std::max<int64_t>(1, row_bytes) / 4 * 4);
  for (int64_t n0 = n_begin; n0 < n_end; n0 += tile) {
    const int64_t n1 = std::min(n_end, n0 + tile);
    // fn writes y[n] for n in [n0, n1): shift y so that row m's outputs land at y + m * ldy.
    for (int64_t m = 0; m < M; ++m) fn(w, K, x + m * K, n0, n1, y + m * ldy);
  }
}

std::span<const GemvVariant> gemv_variants(DType t) {
  switch (t) {
    case DType::F32:
      return kF32;
    case DType::BF16:
      return kBf16;
    case DType::F16:
      return kF16;
    default:
      FVLM_CHECK(false, std::string("no gemv for ") + std::string(dtype_name(t)));
  }
  return {};
}

const GemvVariant& best_gemv(DType t) {
  static const GemvVariant& f32 = pick("gemv_f32", kF32);
  static const GemvVariant& bf16 = pick("gemv_bf16", kBf16);
  static const GemvVariant& f16 = pick("gemv_f16", kF16);
  switch (t) {
    case DType::F32:
      return f32;
    case DType::BF16:
      return bf16;
    case DType::F16:
      return f16;
    default:
      FVLM_CHECK(false, std::string("no gemv for ") + std::string(dtype_name(t)));
  }
  return f32;
}

}  // namespace fvlm::dec
