#include "decoder/attention_kernels.h"

#include "core/cpu_features.h"

namespace fvlm::dec {

void attn_scores_ref(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd, float scale,
                     float* s) {
  for (int64_t j = 0; j < n_keys; ++j) {
    float acc = 0.f;
    for (int d = 0; d < hd; ++d) acc += q[d] * k[j * ldk + d];
    s[j] = acc * scale;
  }
}

void attn_weighted_sum_ref(const float* p, const float* v, int64_t ldv, int64_t n_keys, int hd, float* out) {
  for (int d = 0; d < hd; ++d) out[d] = 0.f;
  for (int64_t j = 0; j < n_keys; ++j)
    for (int d = 0; d < hd; ++d) out[d] += p[j] * v[j * ldv + d];
}

AttnScoresFn best_attn_scores(int hd) {
  return (hd % 8 == 0 && cpu_has(CpuFeature::kAvx2)) ? attn_scores_avx2 : attn_scores_ref;
}

AttnWeightedSumFn best_attn_weighted_sum(int hd) {
  return (hd % 8 == 0 && cpu_has(CpuFeature::kAvx2)) ? attn_weighted_sum_avx2 : attn_weighted_sum_ref;
}

}  // namespace fvlm::dec
