// y[M,N] = x[M,K] . W^T with W [N,K] stored in ggml Q8_0 or Q4_0 blocks (row-major, K % 32 == 0).
// x is quantised on the fly to int8 blocks (quant/blocks.h QuantizedRows) and each (row, weight
// block) pair is an int8 dot product scaled by d_x * d_w, summed in f32 — as ggml's
// vec_dot_q8_0_q8_0 / vec_dot_q4_0_q8_0.
//
// One variant table per weight type: {name, cpu feature, kernel} (core/dispatch.h). The best
// allowed variant is picked once (first use) and logged. Kernels never start threads: matmul_quant hands them
// ranges of weight rows [n_begin, n_end) through core/parallel.h.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "quant/blocks.h"

namespace fvlm::quant {

// A weight matrix [n, k] of blocks: row r starts at data + r * (k / 32) * block bytes (Q8_0, Q4_0),
// or 16 rows interleaved per group (Q8_0_R16, Q4_0_R16: quant/packed.h).
struct QuantMatrix {
  DType type = DType::Q8_0;  // Q8_0, Q4_0, Q8_0_R16 or Q4_0_R16
  int64_t n = 0, k = 0;
  const uint8_t* data = nullptr;
};

// Computes y[m, n] for all rows m of x and weight rows n in [n_begin, n_end); y has row stride ldy.
using MatmulQuantFn = void (*)(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                               float* y, int64_t ldy);

using MatmulVariant = Variant<MatmulQuantFn>;

// Tables list "ref" first; best_matmul() is pick()'s choice (the last one allowed).
std::span<const MatmulVariant> matmul_q8_0_variants();
std::span<const MatmulVariant> matmul_q4_0_variants();
std::span<const MatmulVariant> matmul_q8_0_r16_variants();
std::span<const MatmulVariant> matmul_q4_0_r16_variants();
std::span<const MatmulVariant> matmul_variants(DType weight_type);  // one of the four above
const MatmulVariant& best_matmul(DType weight_type);                // resolved once, logged

// y[M,N] = x[M,K] . W^T where W is Tensor [N,K] of dtype Q8_0 or Q4_0 (or their packed forms).
// Threads via parallel_for over N inside, in whole 16-row groups. `variant` overrides the dispatcher (tests,
// benchmarks).
void matmul_quant(const float* x, int64_t M, int64_t K, const Tensor& w, float* y);
void matmul_quant(const float* x, int64_t M, int64_t K, const Tensor& w, float* y,
                  const MatmulVariant& variant);

// Several projections of the same x (q/k/v; gate/up), each weight Q8_0 or Q4_0 with K columns:
// x is quantised once and all weight rows, concatenated, are split over the threads in one pass
// (one fork/join instead of one per matrix; decode spends ~10% of a token in joins otherwise).
struct QuantOut {
  const Tensor* w;  // [N_i, K], Q8_0 or Q4_0
  float* y;         // [M, N_i]
};
void matmul_quant_multi(const float* x, int64_t M, int64_t K, std::span<const QuantOut> outs);

// Converts a F32/F16/BF16 tensor (last dim % 32 == 0 for Q8_0/Q4_0) to `target` (F32/F16/BF16/
// Q8_0/Q4_0) with the reference quantisers: the bytes `convert` writes. Same shape.
Tensor quantize(const Tensor& w_f32_or_bf16, DType target);
// The row loop behind quantize(), for callers that bring their own output (convert streams chunks
// of rows straight into the file writer's buffer): `rows` rows of `cols` values in `from` (F32/F16/
// BF16) at `in` become rows in `to` at `out`, over the threads. Types are checked by the callers.
void convert_rows(const uint8_t* in, DType from, int64_t rows, int64_t cols, DType to, uint8_t* out);
// Any F32/F16/BF16/Q8_0/Q4_0 tensor (or packed Q8_0_R16/Q4_0_R16) back to F32 (tests, tools).
Tensor dequantize(const Tensor& w);

// Kernels (defined in matmul_quant_{ref,avx2,avxvnni,avx512}.cpp; call only if cpu_has(feature)).
void matmul_q8_0_ref(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_ref(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_avx2(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_avx2(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_avxvnni(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_avxvnni(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_avx512(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_avx512(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
// On packed weights (matmul_packed_{ref,avx2,avxvnni,avx512,amx}.cpp): any range [n_begin, n_end).
void matmul_q8_0_r16_ref(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_r16_ref(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_r16_avx2(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_r16_avx2(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_r16_avxvnni(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_r16_avxvnni(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q8_0_r16_avx512(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_r16_avx512(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
// A 64-byte aligned buffer of at least `bytes`, the calling thread's own until its next call (kept
// out of the ISA files, which must not instantiate std templates: tests/tools/check_isa_islands.sh).
void* thread_scratch(int64_t bytes);
void matmul_q8_0_r16_amx(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);
void matmul_q4_0_r16_amx(const QuantizedRows&, const QuantMatrix&, int64_t, int64_t, float*, int64_t);

}  // namespace fvlm::quant
