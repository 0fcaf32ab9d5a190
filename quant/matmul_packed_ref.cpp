// The specification of the packed quantised matmul (quant/packed.h): plain loops over the
// interleaved layout, one (x row, weight row) at a time, with the formula every packed variant
// computes bit for bit:
//   acc = fma(float(exact integer dot of block b), d_w[n, b] * d_x[m, b], acc)   for b in order
// (the integer dot is exact, so only this f32 chain defines the result; vector variants run it
// per lane and equal this loop exactly).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

namespace fvlm::quant {
namespace {

// The unsigned quant of row r, value kk (0..31) of a block's packed quants.
int32_t quant_q8(const uint8_t* q, int64_t r, int kk) { return q[64 * (kk / 4) + 4 * r + kk % 4]; }
int32_t quant_q4(const uint8_t* q, int64_t r, int kk) {
  const uint8_t byte = q[64 * ((kk % 16) / 4) + 4 * r + kk % 4];
  return kk < 16 ? byte & 0x0f : byte >> 4;
}

template <DType kType, int32_t (*quant)(const uint8_t*, int64_t, int)>
void matmul_packed_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end, float* y,
                       int64_t ldy) {
  const int64_t nb = w.k / kBlock, qbytes = packed_quant_bytes(kType);
  const int64_t group_bytes = packed_group_bytes(kType, w.k);
  const int32_t offset = packed_offset(kType);
  for (int64_t n = n_begin; n < n_end; ++n) {
    const uint8_t* group = w.data + n / kPackRows * group_bytes;
    const int64_t r = n % kPackRows;
    for (int64_t m = 0; m < x.rows; ++m) {
      const int8_t* xq = x.qs + m * x.k;
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* q = group + b * qbytes;
        int32_t s = 0;
        for (int kk = 0; kk < kBlock; ++kk) s += quant(q, r, kk) * int32_t(xq[b * kBlock + kk]);
        s -= offset * x.sum[m * nb + b];
        uint16_t d;
        std::memcpy(&d, group + nb * qbytes + b * 32 + 2 * r, 2);
        const float scale = f16_to_f32(d) * x.d[m * nb + b];
        acc = std::fma(float(s), scale, acc);
      }
      y[m * ldy + n] = acc;
    }
  }
}

}  // namespace

void matmul_q8_0_r16_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  matmul_packed_ref<DType::Q8_0_R16, quant_q8>(x, w, n_begin, n_end, y, ldy);
}

void matmul_q4_0_r16_ref(const QuantizedRows& x, const QuantMatrix& w, int64_t n_begin, int64_t n_end,
                         float* y, int64_t ldy) {
  matmul_packed_ref<DType::Q4_0_R16, quant_q4>(x, w, n_begin, n_end, y, ldy);
}

}  // namespace fvlm::quant
