// Qwen2 decoder forward (transformers Qwen2Model / Qwen2ForCausalLM, eager attention, fp32 compute)
// and Qwen2Session, the CPU LlmBackend: KV cache + RoPE table + scratch of one request.
#pragma once
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "decoder/attention_bf16.h"
#include "decoder/gemm.h"
#include "decoder/kv_cache.h"
#include "decoder/llm_backend.h"
#include "decoder/llm_precision.h"
#include "decoder/prefill_matmul.h"
#include "decoder/qwen2_batch.h"
#include "decoder/qwen2_config.h"
#include "decoder/qwen2_weights.h"
#include "decoder/rope.h"

namespace fvlm::dec {

// Activations of T rows, grown on demand and reused across calls.
struct Qwen2Scratch {
  std::vector<float> x, h, q, attn, gate, up;
  GemmScratch gemm;                // widened weights of the prefill GEMMs
  Bf16AttentionScratch attention;  // the bf16 prefill's attention (attention_bf16.h)
  void reserve(int T, const Qwen2Config& c);
};

// One decoder layer for T new rows at positions [pos0, pos0 + T); x [T, hidden] is updated in place
// and the layer's keys/values are appended to kv.
void qwen2_layer(const Qwen2LayerW& w, const Qwen2Config& c, const RopeTable& rope, int layer, int pos0,
                 int T, float* x, KvCache& kv, Qwen2Scratch& s);

class Qwen2Session final : public LlmBackend {
 public:
  // `w` (and `bf16`, `int8`) must outlive the session. With `bf16`, prefill matmuls and attention
  // run in bf16; with `int8` too, the matmuls run in s8 (linear.h).
  Qwen2Session(const Qwen2Weights& w, const Qwen2Config& c, SessionOptions o,
               const PrefillMatmul* bf16 = nullptr, const PrefillMatmul* int8 = nullptr);

  int hidden_size() const override { return c_.hidden_size; }
  int64_t n_logits() const override { return logit_rows_; }
  int n_past() const override { return n_past_; }
  int max_tokens() const override { return kv_.max_tokens(); }
  void embed(std::span<const int32_t> ids, float* out) const override;
  std::span<const float> prefill(const float* embeds, int T) override;
  std::span<const float> decode_step(int32_t token) override;
  void copy_prefix(const LlmBackend& from, int n) override;
  void reset() override { n_past_ = 0; }

  // As prefill, but returns the logits of every new position: [T, n_logits()] (tests, scoring).
  Tensor prefill_all_logits(const float* embeds, int T);

 private:
  friend class Qwen2Model;  // decode_batch reads the cache and RoPE table, then advances n_past_

  // Runs all layers on s_.x[0:T]; then logits for the last `n_out` rows into logits_.
  void forward(int T, int n_out);

  const Qwen2Weights& w_;
  Qwen2Config c_;
  int64_t logit_rows_;
  Tensor lm_head_rows_;  // leading logit_rows_ rows of the output matrix
  KvCache kv_;
  RopeTable rope_;
  Qwen2Scratch s_;
  DecodeBatchScratch one_;  // decode_step is a batch of one: the same code as batched decoding
  std::vector<float> logits_;
  int n_past_ = 0;
};

// The CPU LlmModel: bound weights + config + the prefill precision (choose_llm_precision: kAuto
// resolved here, logged); sessions are Qwen2Session, sharing one bf16 primitive cache.
class Qwen2Model final : public LlmModel {
 public:
  Qwen2Model(Qwen2Weights w, const Qwen2Config& c, LlmPrecision precision = LlmPrecision::kF32,
             LlmPack pack = LlmPack::kAuto);
  std::unique_ptr<LlmBackend> new_session(const SessionOptions& o) const override {
    return std::make_unique<Qwen2Session>(w_, c_, o, bf16_.get(), int8_.get());
  }
  std::span<const float> decode_batch(std::span<LlmBackend* const> sessions,
                                      std::span<const int32_t> tokens) override;
  LlmPrecision precision() const { return precision_; }      // resolved (never kAuto)
  const PrefillMatmul* bf16() const { return bf16_.get(); }  // null under f32
  const PrefillMatmul* int8() const { return int8_.get(); }  // set under int8
  // The matmul that keeps packed weight copies, if any (int8's s8 copies, or bf16's): inspect, bench.
  const PrefillMatmul* packer() const { return int8_ ? int8_.get() : bf16_.get(); }

 private:
  Qwen2Weights w_;
  Qwen2Config c_;
  DecodeBatchScratch scratch_;
  std::vector<DecodeRow> rows_;
  std::vector<float> logits_;
  LlmPrecision precision_;
  std::unique_ptr<PrefillMatmul> bf16_;  // kBf16 (with llm_pack_budget); kInt8 where bf16 is native
  std::unique_ptr<PrefillMatmul> int8_;  // kInt8 (with llm_pack_budget)
};

}  // namespace fvlm::dec
