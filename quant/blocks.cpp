#include "quant/blocks.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "core/half.h"

namespace fvlm::quant {

float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;  // d = amax / ((1 << 7) - 1)
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kBlock; ++j) y[b].qs[j] = int8_t(std::round(x[j] * id));  // roundf
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    const float d = signed_absmax(x, kBlock) / -8.0f;
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

namespace {

// Q4_0 levels (stored value - 8, in -8..7) of one block at inverse scale id: ggml's rounding,
// truncation of x * id + 8.5 clamped to 0..15 (clamped in float first, so it vectorises).
void q4_levels(const float* x, float id, float* level) {
  for (int j = 0; j < kBlock; ++j) level[j] = float(int(std::clamp(x[j] * id + 8.5f, 0.0f, 15.0f))) - 8.0f;
}

// sum x*l and sum l*l over a block, in four independent partial sums (the same order every time).
void q4_sums(const float* x, const float* level, float& sxl, float& sll) {
  float a[4] = {}, b[4] = {};
  for (int j = 0; j < kBlock; j += 4)
    for (int i = 0; i < 4; ++i) {
      a[i] += x[j + i] * level[j + i];
      b[i] += level[j + i] * level[j + i];
    }
  sxl = (a[0] + a[1]) + (a[2] + a[3]);
  sll = (b[0] + b[1]) + (b[2] + b[3]);
}

}  // namespace

void quantize_row_q4_0_min_error(const float* x, BlockQ4_0* y, int64_t k) {
  // Alternating refinement (Lloyd): levels nearest to x/d for a scale d, then the least-squares d
  // for those levels, which can only lower the block's squared error; stopped when it no longer
  // falls. Started from ggml's grid (largest |x| at level -8) and from the mirrored one (at +7),
  // the better result kept. Squared error of levels l at their least-squares scale:
  // sum x^2 - (sum x*l)^2 / sum l^2, so comparing (sum x*l)^2 / sum l^2 suffices.
  constexpr int kMaxSteps = 4;
  for (int64_t b = 0; b < k / kBlock; ++b, x += kBlock) {
    const float max = signed_absmax(x, kBlock);
    float best_level[kBlock];
    std::fill_n(best_level, kBlock, -8.0f);  // an all-zero block: d = 0, stored levels 0
    float best_d = 0.0f, best_gain = -1.0f;
    if (max != 0.0f) {
      for (const float start_level : {-8.0f, 7.0f}) {
        float id = start_level / max, gain = -1.0f;
        for (int step = 0; step < kMaxSteps; ++step) {
          float level[kBlock], sxl, sll;
          q4_levels(x, id, level);
          q4_sums(x, level, sxl, sll);
          if (sll == 0.0f) break;
          const float g = sxl * sxl / sll;
          if (g <= gain) break;  // converged: no lower error from here
          gain = g;
          const float d = sxl / sll;
          if (g > best_gain) {
            best_gain = g;
            best_d = d;
            std::copy(level, level + kBlock, best_level);
          }
          id = 1.0f / d;
        }
      }
    }
    y[b].d = f32_to_f16(best_d);
    for (int j = 0; j < kBlock / 2; ++j)
      y[b].qs[j] = uint8_t(int(best_level[j] + 8.0f) | (int(best_level[j + kBlock / 2] + 8.0f) << 4));
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
    float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    // A block of subnormals (|x| < ~4e-37): 127 / amax overflows to inf and x * id would too (an
    // undefined conversion); such a block quantises to zeros (its true contribution is < 1e-35).
    if (id > FLT_MAX) id = 0.0f;
    d[b] = amax / 127.0f;
    int32_t s = 0;
    for (int j = 0; j < kBlock; ++j) {
      // Default rounding mode: half to even. A NaN (from a NaN or infinite input) becomes -127, what
      // the x86 conversion's "integer indefinite" (INT_MIN) clamps to; int(NaN) itself is undefined.
      const float r = std::nearbyint(x[j] * id);
      const int q = std::isnan(r) ? -127 : int(r);
      qs[j] = int8_t(std::clamp(q, -127, 127));
      s += qs[j];
    }
    sum[b] = s;
  }
}

}  // namespace fvlm::quant
