#include "decoder/rope.h"

#include <cmath>

#include "core/error.h"

namespace fvlm::dec {

RopeTable make_rope_table(int head_dim, float theta, int max_pos) {
  FVLM_CHECK(head_dim % 2 == 0, "rope: odd head_dim");
  RopeTable r{head_dim, max_pos, {}, {}};
  const int half = head_dim / 2;
  r.cos.resize(size_t(max_pos) * half);
  r.sin.resize(size_t(max_pos) * half);
  for (int p = 0; p < max_pos; ++p)
    for (int i = 0; i < half; ++i) {
      const double inv_freq = std::pow(double(theta), -2.0 * i / head_dim);  // 1 / base^(2i/dim)
      const double a = p * inv_freq;                                         // freqs = t * inv_freq
      r.cos[size_t(p) * half + i] = float(std::cos(a));
      r.sin[size_t(p) * half + i] = float(std::sin(a));
    }
  return r;
}

void apply_rope(const RopeTable& r, float* x, int64_t T, int n_heads, int64_t ld, int pos0) {
  const int hd = r.head_dim, half = hd / 2;
  FVLM_CHECK(pos0 + T <= r.max_pos, "rope: position beyond the table");
  for (int64_t t = 0; t < T; ++t) {
    const float* c = &r.cos[size_t(pos0 + t) * half];
    const float* s = &r.sin[size_t(pos0 + t) * half];
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + t * ld + int64_t(h) * hd;
      for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];         // q * cos + rotate_half(q) * sin, first half
        v[i + half] = b * c[i] + a * s[i];  // second half
      }
    }
  }
}

}  // namespace fvlm::dec
