#include "decoder/qwen2.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "core/bf16_support.h"
#include "core/error.h"
#include "core/parallel.h"
#include "decoder/activations.h"
#include "decoder/attention.h"
#include "decoder/attention_bf16.h"
#include "decoder/embedding.h"
#include "decoder/linear.h"
#include "decoder/rms_norm.h"

namespace fvlm::dec {

namespace {
void add_inplace(float* x, const float* y, int64_t n) {
  parallel_for(n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) x[i] += y[i];
  });
}
}  // namespace

void Qwen2Scratch::reserve(int T, const Qwen2Config& c) {
  const size_t rows = size_t(T), hidden = size_t(T) * size_t(c.hidden_size);
  for (std::vector<float>* v : {&x, &h, &q, &attn})
    if (v->size() < hidden) v->resize(hidden);
  for (std::vector<float>* v : {&gate, &up})
    if (v->size() < rows * size_t(c.intermediate_size)) v->resize(rows * size_t(c.intermediate_size));
}

// Mirrors Qwen2DecoderLayer.forward.
void qwen2_layer(const Qwen2LayerW& w, const Qwen2Config& c, const RopeTable& rope, int layer, int pos0,
                 int T, float* x, KvCache& kv, Qwen2Scratch& s) {
  const int64_t H = c.hidden_size, FF = c.intermediate_size;
  const float eps = c.rms_norm_eps;
  float *h = s.h.data(), *q = s.q.data(), *attn = s.attn.data(), *gate = s.gate.data(), *up = s.up.data();
  float* k = kv.k(layer, pos0);
  float* v = kv.v(layer, pos0);
  rms_norm(x, T, H, w.input_layernorm.f32(), eps, h);  // hidden_states = self.input_layernorm(hidden_states)
  const LinearOut qkv[] = {{&w.q_proj, w.q_bias.f32(), q},   // query_states = self.q_proj(hidden_states)
                           {&w.k_proj, w.k_bias.f32(), k},   // key_states (straight into the cache)
                           {&w.v_proj, w.v_bias.f32(), v}};  // value_states
  linear_multi(h, T, qkv, s.gemm);
  apply_rope(rope, q, T, c.num_attention_heads, H, pos0);  // apply_rotary_pos_emb(q, k, cos, sin)
  apply_rope(rope, k, T, c.num_key_value_heads, kv.kv_dim(), pos0);
  if (s.gemm.bf16 && T >= kBf16AttentionMinRows)  // softmax(q k^T * scaling + causal mask) v
    gqa_causal_attention_bf16(q, kv, layer, pos0, T, c, *s.gemm.bf16, s.gemm.mm_scratch, s.attention, attn);
  else
    gqa_causal_attention(q, kv, layer, pos0, T, c, attn);
  linear(attn, T, w.o_proj, nullptr, h, s.gemm);                // attn_output = self.o_proj(attn_output)
  add_inplace(x, h, T * H);                                     // hidden_states = residual + hidden_states
  rms_norm(x, T, H, w.post_attention_layernorm.f32(), eps, h);  // self.post_attention_layernorm(...)
  const LinearOut gate_up[] = {{&w.gate_proj, nullptr, gate},   // gate_proj(x)
                               {&w.up_proj, nullptr, up}};      // up_proj(x)
  linear_multi(h, T, gate_up, s.gemm);
  const SiluMulFn silu_mul = best_silu_mul();
  parallel_for(T * FF, 4096, [&](int64_t b, int64_t e) {  // act_fn(gate_proj(x)) * up_proj(x)
    silu_mul(gate + b, up + b, e - b);
  });
  linear(gate, T, w.down_proj, nullptr, h, s.gemm);  // down_proj(...)
  add_inplace(x, h, T * H);                          // hidden_states = residual + hidden_states
}

Qwen2Model::Qwen2Model(Qwen2Weights w, const Qwen2Config& c, LlmPrecision precision, LlmPack pack)
    : w_(std::move(w)), c_(c), precision_(choose_llm_precision(precision)) {
  if (precision_ == LlmPrecision::kInt8) {
    const int64_t copy_bytes = llm_copy_bytes(c_, 1);
    const int64_t budget = llm_pack_budget(pack, precision_, copy_bytes);
    if (budget > 0)
      spdlog::info("llm int8 prefill: layer matrices requantised to s8 at their first prompt ({} MB)",
                   copy_bytes >> 20);
    int8_ = std::make_unique<PrefillMatmul>(budget, MatmulOperands::kS8);
    // The attention (and any matmul the s8 copies cannot take) runs in bf16 where that is native.
    if (bf16_is_native(bf16_support())) bf16_ = std::make_unique<PrefillMatmul>(0);
    return;
  }
  if (precision_ != LlmPrecision::kBf16) return;
  const int64_t copy_bytes = llm_copy_bytes(c_, 2);
  const int64_t budget =
      llm_pack_budget(pack, precision_, copy_bytes,
                      !w_.layers.empty() && int8_kernels_on_amx(w_.layers[0].gate_proj.dtype()));
  if (budget > 0)
    spdlog::info("llm bf16 prefill: layer matrices packed for oneDNN at their second prompt ({} MB)",
                 copy_bytes >> 20);
  bf16_ = std::make_unique<PrefillMatmul>(budget);
}

Qwen2Session::Qwen2Session(const Qwen2Weights& w, const Qwen2Config& c, SessionOptions o,
                           const PrefillMatmul* bf16, const PrefillMatmul* int8)
    : w_(w), c_(c), logit_rows_(o.logit_rows > 0 ? o.logit_rows : w.lm_head.dim(0)) {
  s_.gemm.bf16 = bf16;
  s_.gemm.int8 = int8;
  if (o.max_tokens <= 0) throw Error(Errc::kBadArgs, "session: max_tokens must be positive");
  if (logit_rows_ > w.lm_head.dim(0))
    throw Error(Errc::kBadModel, fmt::format("tokenizer has {} ids but the output matrix only {} rows",
                                             logit_rows_, w.lm_head.dim(0)));
  lm_head_rows_ = leading_rows(w.lm_head, logit_rows_);
  kv_ = KvCache(c.num_hidden_layers, o.max_tokens, c.kv_dim());
  rope_ = make_rope_table(c.head_dim(), c.rope_theta, o.max_tokens);
}

void Qwen2Session::embed(std::span<const int32_t> ids, float* out) const {
  embed_rows(w_.embed_tokens, ids, out);
}

void Qwen2Session::forward(int T, int n_out) {
  if (T <= 0) throw Error(Errc::kBadArgs, "prefill of zero tokens");
  if (n_past_ + T > kv_.max_tokens())
    throw Error(Errc::kTooLarge, fmt::format("sequence of {} tokens exceeds the session's {} (context)",
                                             n_past_ + T, kv_.max_tokens()));
  const int64_t H = c_.hidden_size;
  for (int l = 0; l < c_.num_hidden_layers; ++l)
    qwen2_layer(w_.layers[size_t(l)], c_, rope_, l, n_past_, T, s_.x.data(), kv_, s_);
  n_past_ += T;
  // hidden_states = self.norm(hidden_states); logits = self.lm_head(hidden_states), only where needed.
  const float* last = s_.x.data() + (T - n_out) * H;
  rms_norm(last, n_out, H, w_.norm.f32(), c_.rms_norm_eps, s_.h.data());
  logits_.resize(size_t(n_out) * size_t(logit_rows_));
  linear(s_.h.data(), n_out, lm_head_rows_, nullptr, logits_.data(), s_.gemm);
}

std::span<const float> Qwen2Session::prefill(const float* embeds, int T) {
  s_.reserve(T, c_);
  std::memcpy(s_.x.data(), embeds, size_t(T) * size_t(c_.hidden_size) * sizeof(float));
  forward(T, 1);
  return logits_;
}

Tensor Qwen2Session::prefill_all_logits(const float* embeds, int T) {
  s_.reserve(T, c_);
  std::memcpy(s_.x.data(), embeds, size_t(T) * size_t(c_.hidden_size) * sizeof(float));
  forward(T, T);
  Tensor out = Tensor::zeros(DType::F32, {int64_t(T), logit_rows_});
  std::memcpy(out.f32(), logits_.data(), logits_.size() * sizeof(float));
  return out;
}

std::span<const float> Qwen2Session::decode_step(int32_t token) {
  if (n_past_ + 1 > kv_.max_tokens())
    throw Error(Errc::kTooLarge, fmt::format("sequence of {} tokens exceeds the session's {} (context)",
                                             n_past_ + 1, kv_.max_tokens()));
  const DecodeRow row{&kv_, &rope_, n_past_, token};
  logits_.resize(size_t(logit_rows_));
  qwen2_decode_batch(w_, c_, lm_head_rows_, {&row, 1}, one_, logits_.data());
  ++n_past_;
  return logits_;
}

void Qwen2Session::copy_prefix(const LlmBackend& from, int n) {
  const auto* f = dynamic_cast<const Qwen2Session*>(&from);
  FVLM_CHECK(f && &f->w_ == &w_, "copy_prefix: a session of another model");
  FVLM_CHECK(n >= 0 && n <= f->n_past_ && n <= kv_.max_tokens(), "copy_prefix: positions out of range");
  const size_t bytes = size_t(n) * size_t(kv_.kv_dim()) * sizeof(float);
  for (int l = 0; l < c_.num_hidden_layers; ++l) {  // each layer's positions are contiguous
    std::memcpy(kv_.k(l, 0), f->kv_.k(l, 0), bytes);
    std::memcpy(kv_.v(l, 0), f->kv_.v(l, 0), bytes);
  }
  n_past_ = n;
}

std::span<const float> Qwen2Model::decode_batch(std::span<LlmBackend* const> sessions,
                                                std::span<const int32_t> tokens) {
  FVLM_CHECK(!sessions.empty() && sessions.size() == tokens.size(), "decode_batch: one token per session");
  rows_.clear();
  std::vector<Qwen2Session*> qs;
  for (size_t b = 0; b < sessions.size(); ++b) {
    auto* s = dynamic_cast<Qwen2Session*>(sessions[b]);
    FVLM_CHECK(s && &s->w_ == &w_, "decode_batch: a session of another model");
    FVLM_CHECK(qs.empty() || s->logit_rows_ == qs[0]->logit_rows_,
               "decode_batch: sessions with different output rows");
    if (s->n_past_ + 1 > s->kv_.max_tokens())
      throw Error(Errc::kTooLarge, fmt::format("sequence of {} tokens exceeds the session's {} (context)",
                                               s->n_past_ + 1, s->kv_.max_tokens()));
    rows_.push_back({&s->kv_, &s->rope_, s->n_past_, tokens[b]});
    qs.push_back(s);
  }
  const int64_t n_logits = qs[0]->logit_rows_;
  logits_.resize(sessions.size() * size_t(n_logits));
  qwen2_decode_batch(w_, c_, qs[0]->lm_head_rows_, rows_, scratch_, logits_.data());
  for (Qwen2Session* s : qs) ++s->n_past_;
  return logits_;
}

}  // namespace fvlm::dec
