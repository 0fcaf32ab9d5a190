#include "decoder/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "decoder/activations.h"
#include "decoder/attention_kernels.h"

namespace fvlm::dec {

void gqa_causal_attention(const float* q, const KvCache& kv, int layer, int pos0, int T, const Qwen2Config& c,
                          float* out) {
  const int hd = c.head_dim(), heads = c.num_attention_heads;
  const int group = heads / c.num_key_value_heads;  // repeat_kv(n_rep)
  const int64_t ldq = int64_t(heads) * hd, ldkv = kv.kv_dim();
  const float scale = 1.0f / std::sqrt(float(hd));  // self.scaling = head_dim ** -0.5
  const AttnScoresFn scores = best_attn_scores();
  const AttnWeightedSumFn weighted_sum = best_attn_weighted_sum();
  const SoftmaxFn softmax = best_softmax();
  const float* k0 = kv.k(layer, 0);
  const float* v0 = kv.v(layer, 0);
  // Work items are (head, query row) pairs, head-major: causal rows grow in cost with t, so each
  // thread gets whole heads (balanced) and reuses its heads' K/V from cache.
  parallel_for(int64_t(T) * heads, 4, [&](int64_t begin, int64_t end) {
    std::vector<float> p(size_t(pos0 + T));
    for (int64_t i = begin; i < end; ++i) {
      const int h = int(i / T), t = int(i % T), g = h / group;
      const int n_keys = pos0 + t + 1;                                               // causal: keys 0..pos0+t
      scores(q + t * ldq + h * hd, k0 + g * hd, ldkv, n_keys, hd, scale, p.data());  // q @ k^T * scaling
      softmax(p.data(), n_keys);                                                     // softmax(dim=-1), f32
      weighted_sum(p.data(), v0 + g * hd, ldkv, n_keys, hd, out + t * ldq + h * hd);  // attn_weights @ v
    }
  });
}

void gqa_decode_attention(const float* q, std::span<const KvCache* const> kv, std::span<const int> pos,
                          int layer, const Qwen2Config& c, float* out) {
  const int hd = c.head_dim(), heads = c.num_attention_heads;
  const int group = heads / c.num_key_value_heads;
  const int64_t ldq = int64_t(heads) * hd;
  const float scale = 1.0f / std::sqrt(float(hd));
  const AttnScoresFn scores = best_attn_scores();
  const AttnWeightedSumFn weighted_sum = best_attn_weighted_sum();
  const SoftmaxFn softmax = best_softmax();
  int max_keys = 0;
  for (int p : pos) max_keys = std::max(max_keys, p + 1);
  parallel_for(int64_t(kv.size()) * heads, 4, [&](int64_t begin, int64_t end) {
    std::vector<float> probs(static_cast<size_t>(max_keys));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads;
      const int h = int(i % heads), g = h / group, n_keys = pos[size_t(b)] + 1;
      const KvCache& cache = *kv[size_t(b)];
      const int64_t ldkv = cache.kv_dim();
      const float* qrow = q + b * ldq + h * hd;
      scores(qrow, cache.k(layer, 0) + g * hd, ldkv, n_keys, hd, scale, probs.data());
      softmax(probs.data(), n_keys);
      weighted_sum(probs.data(), cache.v(layer, 0) + g * hd, ldkv, n_keys, hd, out + b * ldq + h * hd);
    }
  });
}

}  // namespace fvlm::dec
