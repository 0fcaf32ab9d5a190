#include "decoder/attention_bf16.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "core/parallel.h"
#include "decoder/activations.h"
#include "quant/bf16_rows.h"

namespace fvlm::dec {
namespace {
constexpr int64_t kKeyStep = 64;
int64_t round_up(int64_t n, int64_t step) { return (n + step - 1) / step * step; }
}  // namespace

int64_t bf16_attention_block_rows(int group) {
  return std::max<int64_t>(16, kBf16AttentionBlockRows / std::max(1, group));
}

void gqa_causal_attention_bf16(const float* q, const KvCache& kv, int layer, int pos0, int T,
                               const Qwen2Config& c, const PrefillMatmul& mm, MatmulScratch& ms,
                               Bf16AttentionScratch& s, float* out) {
  const int hd = c.head_dim(), heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;
  const int group = heads / kv_heads;  // repeat_kv(n_rep): the query heads that share a kv head
  const int64_t ldq = int64_t(heads) * hd, ldkv = kv.kv_dim(), keys = int64_t(pos0) + T;
  // Key counts in the matmuls' shapes go up to a multiple of kKeyStep (zero keys and values past the
  // last, masked out): PrefillMatmul keeps a primitive per shape, and prompt lengths are many.
  const int64_t keys_pad = round_up(keys, kKeyStep);
  const int64_t block = std::min<int64_t>(T, bf16_attention_block_rows(group));
  const int64_t stacked = group * block;            // rows of one matmul: the group's heads, stacked
  const float scale = 1.0f / std::sqrt(float(hd));  // self.scaling = head_dim ** -0.5
  const SoftmaxFn softmax = best_softmax();
  s.k.assign(size_t(keys_pad * hd), 0);
  s.vt.assign(size_t(keys_pad * hd), 0);
  s.q.resize(size_t(stacked * hd));
  s.p.resize(size_t(stacked * keys_pad));
  s.s.resize(size_t(stacked * keys_pad));
  s.o.resize(size_t(stacked * hd));
  const float* k0 = kv.k(layer, 0);
  const float* v0 = kv.v(layer, 0);
  for (int g = 0; g < kv_heads; ++g) {
    // K_g [keys, hd] and V_g^T [hd, keys] in bf16, once for the group's heads.
    parallel_for(keys, 64, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        quant::round_to_bf16(k0 + j * ldkv + g * hd, hd, s.k.data() + j * hd);
        for (int d = 0; d < hd; ++d) s.vt[size_t(d * keys_pad + j)] = f32_to_bf16(v0[j * ldkv + g * hd + d]);
      }
    });
    for (int64_t r0 = 0; r0 < T; r0 += block) {
      // Matmul row i = (head g * group + i / rows, query row r0 + i % rows).
      const int64_t rows = std::min<int64_t>(block, T - r0), m = group * rows;
      const int64_t seen = std::min(keys_pad, round_up(pos0 + r0 + rows, kKeyStep));  // the last row's keys
      parallel_for(m, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          quant::round_to_bf16(q + (r0 + i % rows) * ldq + (g * group + i / rows) * hd, hd,
                               s.q.data() + i * hd);
      });
      mm.run(s.q.data(), m, hd, s.k.data(), seen, nullptr, s.s.data(), seen, ms);  // q @ k^T
      parallel_for(m, 8, [&](int64_t b, int64_t e) {  // * scaling, causal mask, softmax(dim=-1)
        for (int64_t i = b; i < e; ++i) {
          float* row = s.s.data() + i * seen;
          uint16_t* prow = s.p.data() + i * keys_pad;  // V_g^T's rows are keys_pad long: zeros past n
          const int64_t n = pos0 + r0 + i % rows + 1;
          for (int64_t j = 0; j < n; ++j) row[j] *= scale;
          softmax(row, n);
          quant::round_to_bf16(row, n, prow);
          std::fill(prow + n, prow + keys_pad, uint16_t(0));
        }
      });
      mm.run(s.p.data(), m, keys_pad, s.vt.data(), hd, nullptr, s.o.data(), hd, ms);  // attn_weights @ v
      parallel_for(m, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          std::copy_n(s.o.data() + i * hd, hd, out + (r0 + i % rows) * ldq + (g * group + i / rows) * hd);
      });
    }
  }
}

}  // namespace fvlm::dec
