// gqa_causal_attention (attention.h) for a prefill chunk on oneDNN bf16 matmuls, where the bf16
// prefill runs (GemmScratch::bf16): per kv head g, with the query heads h that share it stacked as
// the rows of one matmul (a block of query rows each),
//   S = q_h . K_g^T            bf16 x bf16 -> f32 (AMX / AVX512_BF16 via PrefillMatmul)
//   P = softmax(S / sqrt(hd))  f32 over each row's causal keys [0, pos0 + t], rounded to bf16
//   O = P . V_g                bf16 x bf16 -> f32, written into the head's columns of out
// The row kernels do the same per query row on AVX2 (~40 GFLOP/s); the matmuls run at several times
// that, and a prompt's attention grows with its square (576 image tokens at 1536 px, tiles beyond).
// Like the other bf16 prefill matmuls, q, k, v and the probabilities are rounded to bf16; the scores
// and the softmax stay f32. Key counts are padded to a multiple of 64 (zero keys and values, masked):
// PrefillMatmul keeps one primitive per shape, and a server sees many prompt lengths.
#pragma once
#include <cstdint>
#include <vector>

#include "decoder/kv_cache.h"
#include "decoder/prefill_matmul.h"
#include "decoder/qwen2_config.h"

namespace fvlm::dec {

// From this many new tokens the matmuls take over: 0.5B shapes on the AMX VM, one layer, row kernels
// vs matmuls: 64 tokens 0.15 vs 0.16 ms, 96: 0.40 vs 0.34, 280: 2.4 vs 1.4, 2000: 157 vs 56 ms.
inline constexpr int kBf16AttentionMinRows = 96;
// Matmul rows per block (query rows x the heads of a group): the f32 scores of a block stay a few MB
// for long prompts, and a block scores only the keys its last query row may see.
inline constexpr int kBf16AttentionBlockRows = 1024;
// Query rows per block for `group` query heads per kv head.
int64_t bf16_attention_block_rows(int group);

// Per session: the bf16 copies of one KV group's keys (K_g [keys, hd]) and transposed values
// (V_g^T [hd, keys]), of a block's stacked query rows, their scores and probabilities.
struct Bf16AttentionScratch {
  std::vector<uint16_t> k, vt, q, p;
  std::vector<float> s, o;
};

// As gqa_causal_attention: q, out [T, heads * head_dim]; keys/values of [0, pos0 + T) in `kv`.
void gqa_causal_attention_bf16(const float* q, const KvCache& kv, int layer, int pos0, int T,
                               const Qwen2Config& c, const PrefillMatmul& mm, MatmulScratch& ms,
                               Bf16AttentionScratch& s, float* out);

}  // namespace fvlm::dec
