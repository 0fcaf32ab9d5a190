#include "encoder/gelu_bf16.h"

#include <vector>

#include "core/half.h"

namespace fvlm::enc {
namespace {
constexpr Variant<GeluBf16Fn> kGeluVariants[] = {
    {"ref", CpuFeature::kNone, gelu_erf_bf16_ref},
    {"avx512", CpuFeature::kAvx512Vnni, gelu_erf_bf16_avx512},
};
constexpr Variant<GeluF32Fn> kGeluF32Variants[] = {
    {"ref", CpuFeature::kNone, gelu_erf_f32_via_bf16_ref},
    {"avx2", CpuFeature::kAvx2, gelu_erf_f32_via_bf16_avx2},
    {"avx512", CpuFeature::kAvx512Vnni, gelu_erf_f32_via_bf16_avx512},
};
}  // namespace

std::span<const Variant<GeluBf16Fn>> gelu_erf_bf16_variants() { return kGeluVariants; }
std::span<const Variant<GeluF32Fn>> gelu_erf_f32_via_bf16_variants() { return kGeluF32Variants; }

const uint16_t* gelu_erf_bf16_table() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t((size_t(1) << 16) + 1, 0);
    for (size_t i = 0; i < (size_t(1) << 16); ++i) t[i] = f32_to_bf16(gelu_erf(bf16_to_f32(uint16_t(i))));
    return t;
  }();
  return table.data();
}

void gelu_erf_bf16_ref(uint16_t* x, int64_t n) {
  const uint16_t* t = gelu_erf_bf16_table();
  for (int64_t i = 0; i < n; ++i) x[i] = t[x[i]];
}

}  // namespace fvlm::enc

namespace fvlm::enc {

void gelu_erf_f32_via_bf16_ref(float* x, int64_t n) {
  const uint16_t* t = gelu_erf_bf16_table();
  for (int64_t i = 0; i < n; ++i) x[i] = bf16_to_f32(t[f32_to_bf16(x[i])]);
}

}  // namespace fvlm::enc
