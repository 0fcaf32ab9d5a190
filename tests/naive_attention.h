// Softmax attention in float64, one head at a time, for the tests' references: whatever the layout,
// the caller passes accessors q(h, i, e), k(h, j, e), v(h, j, e) and a sink out(h, i, e, value).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fvlm::test {

// out_h[i] = softmax_j(q_h[i] . k_h[j]) v_h[j] over n tokens (no scaling, no mask: q is pre-scaled).
template <class Q, class K, class V, class Out>
void naive_attention(int64_t n, int64_t heads, int64_t head_dim, Q&& q, K&& k, V&& v, Out&& out) {
  std::vector<double> s(static_cast<size_t>(n));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < n; ++i) {
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (int64_t e = 0; e < head_dim; ++e) d += double(q(h, i, e)) * double(k(h, j, e));
        mx = std::max(mx, s[size_t(j)] = d);
      }
      for (int64_t j = 0; j < n; ++j) sum += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
      for (int64_t e = 0; e < head_dim; ++e) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) acc += s[size_t(j)] / sum * double(v(h, j, e));
        out(h, i, e, acc);
      }
    }
}

}  // namespace fvlm::test
