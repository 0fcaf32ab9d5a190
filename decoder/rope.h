// Rotary position embedding as HF Qwen2 applies it (rotate_half / NeoX layout, not interleaved):
// for i < hd/2, angle = pos * theta^(-2i/hd),
//   x'[i] = x[i] cos - x[i + hd/2] sin,   x'[i + hd/2] = x[i + hd/2] cos + x[i] sin.
#pragma once
#include <cstdint>
#include <vector>

namespace fvlm::dec {

// cos/sin of every (position, frequency) pair up to max_pos, computed once per session in double.
struct RopeTable {
  int head_dim = 0;
  int max_pos = 0;
  std::vector<float> cos, sin;  // [max_pos, head_dim / 2]
};

RopeTable make_rope_table(int head_dim, float theta, int max_pos);

// Rotates n_heads heads of T rows in place; row t (position pos0 + t) starts at x + t * ld.
void apply_rope(const RopeTable& r, float* x, int64_t T, int n_heads, int64_t ld, int pos0);

}  // namespace fvlm::dec
