#include "quant/blocks.h"

#include <algorithm>
#include <cmath>

#include "core/half.h"

namespace fvlm::quant {

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;                       // d = amax / ((1 << 7) - 1)
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock; ++j) y[b].qs[j] = int8_t(std::round(x[j] * id));   // roundf
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    float amax = 0.0f, max = 0.0f;                       // max keeps the sign of the largest |x|
    for (int j = 0; j < kBlock; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock / 2; ++j) {
      // (int8_t)(x * id + 8.5f) truncates toward zero; MIN(15, .) clips the +8 end.
      const uint8_t lo = uint8_t(std::min(15, int(int8_t(x[j] * id + 8.5f))));
      const uint8_t hi = uint8_t(std::min(15, int(int8_t(x[j + kBlock / 2] * id + 8.5f))));
      y[b].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

void quantize_row_q4_0_min_error(const float* x, BlockQ4_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kBlock; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    uint8_t best_q[kBlock] = {};
    float best_d = 0.0f;
    if (amax > 0.0f) {
      float best_err = INFINITY;
      // Candidate grids: the largest |x| mapped to level -8 + s/4 (s = 0 is ggml's choice), in
      // both sign conventions; for each grid, the scale is refit by least squares to its levels.
      for (int s = -4; s <= 16; ++s) {
        for (float sign : {-1.0f, 1.0f}) {
          const float levels = sign < 0 ? 8.0f - 0.25f * float(s) : 7.0f - 0.25f * float(s);
          if (levels < 4.0f) continue;
          const float id = sign * levels / max;
          uint8_t q[kBlock];
          double sxq = 0, sqq = 0;
          for (int j = 0; j < kBlock; ++j) {
            const int v = std::clamp(int(std::lround(x[j] * id)) + 8, 0, 15);
            q[j] = uint8_t(v);
            sxq += double(x[j]) * (v - 8);
            sqq += double(v - 8) * (v - 8);
          }
          if (sqq == 0) continue;
          const float d = f16_to_f32(f32_to_f16(float(sxq / sqq)));   // the scale as stored
          double err = 0;
          for (int j = 0; j < kBlock; ++j) {
            const double e = x[j] - double(d) * (q[j] - 8);
            err += e * e;
          }
          if (err < best_err) {
            best_err = err;
            best_d = d;
            std::copy(q, q + kBlock, best_q);
          }
        }
      }
    }
    y[b].d = f32_to_f16(best_d);
    for (int j = 0; j < kBlock / 2; ++j) y[b].qs[j] = uint8_t(best_q[j] | (best_q[j + kBlock / 2] << 4));
  }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kBlock; ++j) y[j] = float(x[b].qs[j]) * d;
  }
}

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, y += kBlock) {
    const float d = f16_to_f32(x[b].d);
    for (int j = 0; j < kBlock / 2; ++j) {
      y[j] = float((x[b].qs[j] & 0x0f) - 8) * d;
      y[j + kBlock / 2] = float((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_acts_row(const float* x, int64_t k, int8_t* qs, float* d, int32_t* sum) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock, qs += kBlock) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    int32_t s = 0;
    for (int j = 0; j < kBlock; ++j) {
      const int q = int(std::nearbyint(x[j] * id));     // default rounding mode: half to even
      qs[j] = int8_t(std::clamp(q, -127, 127));
      s += qs[j];
    }
    sum[b] = s;
  }
}

}  // namespace fvlm::quant
