// The one dispatch point for "y = x . W^T + b" in the decoder: picks GEMV (decode, few rows of x)
// or GEMM (prefill) and the kernel for the weight's stored dtype, so model code never sees dtypes.
//   F32 / BF16 / F16 : decoder kernels (gemv.h; gemm.h = BF16/F16 panels widened on the fly + sgemm)
//   Q8_0 / Q4_0      : quant::matmul_quant (int8 dot products) below kDequantGemmMinRows rows,
//                      else the GEMM on dequantised panels (faster on AVX2; f32 activations)
//   Q8_0_R16 / Q4_0_R16 (packed at load, quant/packed.h): the int8 kernels at every row count
//   bf16 prefill       : with GemmScratch::bf16 set (--llm-precision bf16), where the f32 path would
//                        run a GEMM (same row thresholds): oneDNN bf16 matmuls (decoder/prefill_matmul.h)
//   bf16 with packed copies (PrefillMatmul::packs(), AMX): from kBf16PackedMinRows rows, whatever the dtype
//   int8 prefill       : with GemmScratch::int8 set (--llm-precision int8): from kInt8MinRows rows, s8 x s8
//                        oneDNN matmuls on per-row requantised packed copies (decoder/prefill_matmul.h)
#pragma once
#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "decoder/gemm.h"

namespace fvlm::dec {

// Below this many rows of x, streaming W once per row (GEMV) beats packing for a GEMM.
inline constexpr int64_t kGemmMinRows = 4;
// Below this many rows, int8 dot products on Q8_0/Q4_0 weights beat dequantising them for sgemm
// (AVX2 has no int8 FMA: vpmaddubsw + vpmaddwd do 32 MACs in the time sgemm does 16-32 f32 MACs,
// and the per-block scale costs a convert + FMA). `bench_quant` prints both sides. The bf16 prefill
// keeps the same split: converting a Q8_0 matrix to bf16 and running the bf16 matmul cost 2x / 1.4x /
// 1.0x the int8 kernels' CPU time at 8 / 16 / 40 tokens (bench_llm, bench/README.md).
inline constexpr int64_t kDequantGemmMinRows = 48;  // bench_quant's crossover (bench/README.md)
// Where the bf16 matmul keeps packed weight copies (AMX), it takes over from this many rows: with no
// conversion left to amortise, an AMX matmul matches the int8 kernels at 40 rows (bench_llm: 108-114
// vs 112 ms) and beats them at 280 (bench/README.md, "LLM prefill on AMX").
inline constexpr int64_t kBf16PackedMinRows = 48;
// The int8 prefill takes over at the same row count. Not for speed: from 12 rows it already beats the
// int8 kernels (bench_llm 2 T 1 12 q8 auto,int8: 1.14-1.40x at 12-40 tokens, 0.88x at 8), but the
// golden text prompts (21-27 tokens) then fall to logits cosine 0.9989-0.9994 against FP32, under
// issue 12's 0.9995, where the multi-turn prompts from 66 tokens keep 0.9997 and more.
inline constexpr int64_t kInt8MinRows = 48;

// y[M, N] = x[M, K] . W^T (+ bias[N] when not null), W [N, K] row-major. Threads inside.
// `scratch` holds widened weights for the GEMM path; the overload without it allocates one.
void linear(const float* x, int64_t M, const Tensor& W, const float* bias, float* y, GemmScratch& scratch);
void linear(const float* x, int64_t M, const Tensor& W, const float* bias, float* y);

// Several projections of the same x (q/k/v; gate/up). For decode rows the GEMVs of all of them run
// in one parallel pass over their concatenated weight rows: one fork/join instead of one each.
struct LinearOut {
  const Tensor* W;    // [N_i, K]
  const float* bias;  // [N_i] or null
  float* y;           // [M, N_i]
};
void linear_multi(const float* x, int64_t M, std::span<const LinearOut> outs, GemmScratch& scratch);

// As linear_multi for the decode rows of M sequences (one token each): every row of y is computed
// exactly as an M = 1 call computes it, whatever M is (no switch to a GEMM, whose sums would be
// ordered differently), so batching never changes a sequence's tokens. The weights are still read
// once for all rows: the int8 kernels take all rows per weight tile (quant/matmul_quant.h), the
// f32 GEMV passes every row over a cached tile of weight rows (gemv_rows).
void linear_rows(const float* x, int64_t M, std::span<const LinearOut> outs);

// The first `rows` rows of a [N, K] matrix as a [rows, K] view (no copy; `W` must outlive it).
// Used for the output projection, which only computes the logits of valid token ids.
Tensor leading_rows(const Tensor& W, int64_t rows);

}  // namespace fvlm::dec
