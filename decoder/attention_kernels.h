// Inner loops of attention for one query row of one head, over keys/values stored row-major with
// a row stride (the KV cache keeps all KV heads of a position in one row).
// _ref = spec; _avx2 takes head_dim in steps of 8 and a scalar tail for the rest.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"

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

// "ref" first, then "avx2" (core/dispatch.h); best_* is pick()'s choice, once.
std::span<const Variant<AttnScoresFn>> attn_scores_variants();
std::span<const Variant<AttnWeightedSumFn>> attn_weighted_sum_variants();
AttnScoresFn best_attn_scores();
AttnWeightedSumFn best_attn_weighted_sum();

}  // namespace fvlm::dec
