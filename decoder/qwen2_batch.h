// The batched decode step: one new token for each of B sequences in one forward pass. Their tokens
// are the rows of one matmul per weight (the weights are read once for all of them); attention runs
// per sequence against its own KV cache. Every row is computed exactly as a batch of one computes
// it (linear_rows, row-wise norms and activations), so a sequence's tokens never depend on what it
// shares a step with: continuous batching (models/engine.cpp) gives the ids of running alone.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "decoder/kv_cache.h"
#include "decoder/qwen2_config.h"
#include "decoder/qwen2_weights.h"
#include "decoder/rope.h"

namespace fvlm::dec {

// One sequence's part of a step: its new token goes to position `pos` of its cache.
struct DecodeRow {
  KvCache* kv = nullptr;
  const RopeTable* rope = nullptr;
  int pos = 0;
  int32_t token = 0;
};

// Activations of B rows, grown on demand and reused across steps.
struct DecodeBatchScratch {
  std::vector<float> x, h, q, k, v, attn, gate, up;
  std::vector<const KvCache*> caches;
  std::vector<int> positions;
  void reserve(int B, const Qwen2Config& c);
};

// logits [B, lm_head.dim(0)] of the B new tokens; each row's keys/values are appended to its cache.
void qwen2_decode_batch(const Qwen2Weights& w, const Qwen2Config& c, const Tensor& lm_head,
                        std::span<const DecodeRow> rows, DecodeBatchScratch& s, float* logits);

}  // namespace fvlm::dec
