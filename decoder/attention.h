// Grouped-query causal self-attention over the KV cache, as Qwen2Attention (eager) computes it:
// per query head h (kv head g = h / (heads / kv_heads)) and query position p = pos0 + t,
//   out = softmax(q . K[0..p]^T / sqrt(head_dim)) . V[0..p]
// The causal mask is the key range [0, p]: image and text tokens alike.
#pragma once
#include <span>

#include "decoder/kv_cache.h"
#include "decoder/qwen2_config.h"

namespace fvlm::dec {

// q, out: [T, heads * head_dim]. Keys/values of positions [0, pos0 + T) are already in `kv`.
// Threads over (head, query) pairs.
void gqa_causal_attention(const float* q, const KvCache& kv, int layer, int pos0, int T, const Qwen2Config& c,
                          float* out);

// Batched decode: one new query row per sequence, each against its own cache. Row b of q / out
// ([B, heads * head_dim]) is the token at position pos[b] of the sequence whose cache is kv[b] (its
// keys/values at 0..pos[b] already in). Each (sequence, head) pair computes exactly what
// gqa_causal_attention computes for T = 1; threads over the pairs (one fork/join for the batch).
void gqa_decode_attention(const float* q, std::span<const KvCache* const> kv, std::span<const int> pos,
                          int layer, const Qwen2Config& c, float* out);

}  // namespace fvlm::dec
