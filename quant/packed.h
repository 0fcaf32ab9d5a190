// Q8_0 / Q4_0 weight matrices with 16 rows interleaved (DType::Q8_0_R16, Q4_0_R16): the layout the
// int8 kernels want when several rows of x share each weight (batched decode, short prefills).
//
// Why: in ggml's row-major blocks a kernel computes one (x row, weight row) block product at a time
// and pays a convert + FMA for its scale per 32 products; at 8 rows of x that is most of a batched
// decode step. Here the 32-bit lanes of one vector are 16 weight rows: a broadcast 4-byte group of x
// times one 64-byte chunk is 64 products into 16 int32 sums (vpdpbusd), and the scale is applied
// once per block for 16 outputs. Same idea as llama.cpp's repacked Q4_0/Q8_0 (ggml-cpu-aarch64).
//
// Rows go in groups of 16; group g holds rows 16g..16g+15 and starts at g * 16 * (row bytes), where
// the rows were: so a group is the same bytes as those 16 ggml rows, rearranged. Inside a group of
// nb = K / 32 blocks: first the quants of every block, then the 16 f16 scales of every block.
//   Q8_0_R16 quants of block b (512 bytes): byte [64j + 4r + i] = q[r][32b + 4j + i] + 128
//            (as u8: the unsigned side of u8 x s8 products; j = 0..7 four-value groups, r = row)
//   Q4_0_R16 quants of block b (256 bytes): byte [64j + 4r + i] = ggml's qs[4j + i] of row r, j = 0..3:
//            low nibble = value 4j + i, high nibble = value 16 + 4j + i (both + 8, as in ggml)
//   scales of block b (32 bytes): f16 d of row r at [2r]
// Exact integer sums follow: sum_k q'_k x_k - offset * sum_k x_k = sum_k q_k x_k, offset 128 / 8.
//
// A matrix is packed only when its row count is a multiple of 16. A view of its first rows
// (dec::leading_rows) keeps the layout: kernels read whole groups and store only the rows asked for.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "quant/blocks.h"

namespace fvlm::quant {

inline constexpr int64_t kPackRows = 16;

bool is_packed(DType t);             // Q8_0_R16 / Q4_0_R16
bool is_block_quantized(DType t);    // Q8_0, Q4_0 or a packed form of them
DType packed_type(DType ggml_type);  // Q8_0 -> Q8_0_R16, Q4_0 -> Q4_0_R16
DType ggml_type(DType t);            // the packed form's ggml type; other types unchanged
// The packed form's offset: what its unsigned quants carry on top of the signed values.
int32_t packed_offset(DType packed);
int64_t packed_quant_bytes(DType packed);  // one block's quants for 16 rows: 512 / 256
// The bytes of 16 rows of a [N, k] Q8_0/Q4_0 matrix, in either layout: group g starts at g times this.
int64_t packed_group_bytes(DType t, int64_t k);

// Q8_0 / Q4_0 [N, K] with N % 16 == 0 (K % 32 == 0 as any such matrix).
bool packable(const Tensor& w);

// Groups [g_begin, g_end) of the ggml matrix `w` (packable) into `dst`, the start of the packed
// matrix's bytes (same size as w's). Groups are independent: callers split them over threads.
void pack_groups(const Tensor& w, int64_t g_begin, int64_t g_end, uint8_t* dst);

// The packed copy of `w` (packable), owning its bytes (tests, benchmarks; the engine packs while it
// copies the weights into huge pages: decoder/weight_pages.h).
Tensor pack(const Tensor& w);

// Row r of a packed matrix [N, K] at `data` as K / 32 ggml blocks (BlockQ8_0 / BlockQ4_0) into out.
void unpack_row(DType packed, const uint8_t* data, int64_t k, int64_t r, void* out);
// Element (r, k) of the packed tensor m as f32, from its own quant and scale: the value rows_to_f32
// gives there (the int8 prefill reads its outlier columns so, decoder/int8_outliers.h).
float packed_value(const Tensor& m, int64_t r, int64_t k);

// Row r of the packed tensor m as ggml blocks, in a buffer of the calling thread (valid until its
// next call): what the widening paths (rows_to_f32 / rows_to_bf16) read a packed row through.
const uint8_t* unpacked_row(const Tensor& m, int64_t r);

}  // namespace fvlm::quant
