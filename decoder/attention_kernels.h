// Inner loops of attention for one query row of one head, over keys/values stored row-major with
// a row stride (the KV cache keeps all KV heads of a position in one row).
// _ref = spec; _avx2 needs head_dim % 8 == 0 (else callers get the ref through best_*()).
#pragma once
#include <cstdint>

namespace fvlm::dec {

// s[j] = scale * dot(q[0:hd], k[j*ldk : j*ldk+hd]) for j in [0, n_keys)
using AttnScoresFn = void (*)(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd,
                              float scale, float* s);
// out[d] = sum_j p[j] * v[j*ldv + d] for d in [0, hd)
using AttnWeightedSumFn = void (*)(const float* p, const float* v, int64_t ldv, int64_t n_keys, int hd,
                                   float* out);

void attn_scores_ref(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd, float scale,
                     float* s);
void attn_scores_avx2(const float* q, const float* k, int64_t ldk, int64_t n_keys, int hd, float scale,
                      float* s);
void attn_weighted_sum_ref(const float* p, const float* v, int64_t ldv, int64_t n_keys, int hd, float* out);
void attn_weighted_sum_avx2(const float* p, const float* v, int64_t ldv, int64_t n_keys, int hd, float* out);

// Best variants for this CPU and head size.
AttnScoresFn best_attn_scores(int hd);
AttnWeightedSumFn best_attn_weighted_sum(int hd);

}  // namespace fvlm::dec
