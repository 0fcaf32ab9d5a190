#include "decoder/qwen2_batch.h"

#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "decoder/activations.h"
#include "decoder/attention.h"
#include "decoder/embedding.h"
#include "decoder/linear.h"
#include "decoder/rms_norm.h"

namespace fvlm::dec {

void DecodeBatchScratch::reserve(int B, const Qwen2Config& c) {
  const size_t rows = size_t(B);
  for (std::vector<float>* v : {&x, &h, &q, &attn}) v->resize(rows * size_t(c.hidden_size));
  for (std::vector<float>* v : {&k, &v}) v->resize(rows * size_t(c.kv_dim()));
  for (std::vector<float>* v : {&gate, &up}) v->resize(rows * size_t(c.intermediate_size));
}

namespace {
void add_rows(float* x, const float* y, int64_t n) {  // element-wise: exact whatever the split
  parallel_for(n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) x[i] += y[i];
  });
}
}  // namespace

// Qwen2DecoderLayer.forward for B rows at their own positions (qwen2_layer with T = 1, B times over).
void qwen2_decode_batch(const Qwen2Weights& w, const Qwen2Config& c, const Tensor& lm_head,
                        std::span<const DecodeRow> rows, DecodeBatchScratch& s, float* logits) {
  const int B = int(rows.size());
  FVLM_CHECK(B > 0, "decode batch of zero rows");
  const int64_t H = c.hidden_size, FF = c.intermediate_size, KV = c.kv_dim();
  const float eps = c.rms_norm_eps;
  s.reserve(B, c);
  s.caches.clear();
  s.positions.clear();
  std::vector<int32_t> tokens;
  for (const DecodeRow& r : rows) {
    FVLM_CHECK(r.pos < r.kv->max_tokens(), "decode batch: a sequence's cache is full");
    tokens.push_back(r.token);
    s.caches.push_back(r.kv);
    s.positions.push_back(r.pos);
  }
  float *x = s.x.data(), *h = s.h.data(), *q = s.q.data(), *k = s.k.data(), *v = s.v.data();
  float *attn = s.attn.data(), *gate = s.gate.data(), *up = s.up.data();
  embed_rows(w.embed_tokens, tokens, x);
  const SiluMulFn silu_mul = best_silu_mul();
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const Qwen2LayerW& lw = w.layers[size_t(l)];
    rms_norm(x, B, H, lw.input_layernorm.f32(), eps, h);        // input_layernorm
    const LinearOut qkv[] = {{&lw.q_proj, lw.q_bias.f32(), q},  // q/k/v projections, B rows at once
                             {&lw.k_proj, lw.k_bias.f32(), k},
                             {&lw.v_proj, lw.v_bias.f32(), v}};
    linear_rows(h, B, qkv);
    for (int b = 0; b < B; ++b) {  // RoPE at each row's own position; k/v into its own cache
      const DecodeRow& r = rows[size_t(b)];
      apply_rope(*r.rope, q + b * H, 1, c.num_attention_heads, H, r.pos);
      apply_rope(*r.rope, k + b * KV, 1, c.num_key_value_heads, KV, r.pos);
      std::memcpy(r.kv->k(l, r.pos), k + b * KV, size_t(KV) * sizeof(float));
      std::memcpy(r.kv->v(l, r.pos), v + b * KV, size_t(KV) * sizeof(float));
    }
    gqa_decode_attention(q, s.caches, s.positions, l, c, attn);  // per sequence, its own keys
    const LinearOut o_proj[] = {{&lw.o_proj, nullptr, h}};
    linear_rows(attn, B, o_proj);
    add_rows(x, h, B * H);                                         // residual
    rms_norm(x, B, H, lw.post_attention_layernorm.f32(), eps, h);  // post_attention_layernorm
    const LinearOut gate_up[] = {{&lw.gate_proj, nullptr, gate}, {&lw.up_proj, nullptr, up}};
    linear_rows(h, B, gate_up);
    // act_fn(gate) * up, a whole row per call: the kernel's vector/tail split is then the same for
    // every batch size.
    parallel_for(B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) silu_mul(gate + b * FF, up + b * FF, FF);
    });
    const LinearOut down[] = {{&lw.down_proj, nullptr, h}};
    linear_rows(gate, B, down);
    add_rows(x, h, B * H);  // residual
  }
  rms_norm(x, B, H, w.norm.f32(), eps, h);  // final norm, then lm_head
  const LinearOut head[] = {{&lm_head, nullptr, logits}};
  linear_rows(h, B, head);
}

}  // namespace fvlm::dec
