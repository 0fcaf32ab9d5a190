#include "decoder/attention_kernels.h"

namespace fvlm::dec {
namespace {
constexpr Variant<AttnScoresFn> kScores[] = {
    {"ref", CpuFeature::kNone, attn_scores_ref},
    {"avx2", CpuFeature::kAvx2, attn_scores_avx2},
};
constexpr Variant<AttnWeightedSumFn> kWeightedSum[] = {
    {"ref", CpuFeature::kNone, attn_weighted_sum_ref},
    {"avx2", CpuFeature::kAvx2, attn_weighted_sum_avx2},
};
}  // namespace

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

std::span<const Variant<AttnScoresFn>> attn_scores_variants() { return kScores; }
std::span<const Variant<AttnWeightedSumFn>> attn_weighted_sum_variants() { return kWeightedSum; }

AttnScoresFn best_attn_scores() {
  static const AttnScoresFn f = pick("attn_scores", kScores).fn;
  return f;
}

AttnWeightedSumFn best_attn_weighted_sum() {
  static const AttnWeightedSumFn f = pick("attn_weighted_sum", kWeightedSum).fn;
  return f;
}

}  // namespace fvlm::dec
