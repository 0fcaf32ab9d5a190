// The specification of the quantised matmul: plain loops, one weight block at a time.
//   y[m, n] = sum_b  (d_x[m, b] * d_w[n, b]) * sum_j qx[m, 32b + j] * qw[n, 32b + j]
// with the integer inner sum exact and the outer sum in f32, in block order.
#include "core/half.h"
#include "quant/matmul_quant.h"

namespace fvlm::quant {
namespace {

int32_t dot_block_q8_0(const BlockQ8_0& w, const int8_t* x) {
  int32_t s = 0;
  for (int j = 0; j < kBlock; ++j) s += int32_t(w.qs[j]) * x[j];
  return s;
}

int32_t dot_block_q4_0(const BlockQ4_0& w, const int8_t* x) {
  int32_t s = 0;
  for (int j = 0; j < kBlock / 2; ++j) {
    s += ((w.qs[j] & 0x0f) - 8) * int32_t(x[j]);
    s += ((w.qs[j] >> 4) - 8) * int32_t(x[j + kBlock / 2]);
  }
  return s;
}

template <class Block, int32_t (*dot)(const Block&, const int8_t*)>
void matmul_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                int64_t ldy) {
  const int64_t nb = w.k / kBlock;
  const Block* blocks = reinterpret_cast<const Block*>(w.data);
  for (int64_t m = 0; m < x.rows; ++m) {
    const int8_t* xq = x.qs + m * x.k;
    const float* xd = x.d + m * nb;
    for (int64_t n = n_begin; n < n_end; ++n) {
      const Block* row = blocks + n * nb;
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b)
        acc += float(dot(row[b], xq + b * kBlock)) * (f16_to_f32(row[b].d) * xd[b]);
      y[m * ldy + n] = acc;
    }
  }
}

}  // namespace

void matmul_q8_0_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                     int64_t ldy) {
  matmul_ref<BlockQ8_0, dot_block_q8_0>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                     int64_t ldy) {
  matmul_ref<BlockQ4_0, dot_block_q4_0>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
