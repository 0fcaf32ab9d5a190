#include "models/random_weights.h"

#include <cmath>

#include "core/error.h"
#include "core/half.h"
#include "core/parallel.h"

namespace fvlm {
namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// (offset, half-width) of the uniform distribution for one tensor.
std::pair<float, float> distribution(const TensorSpec& s) {
  const std::string& n = s.name;
  if (ends_with(n, "running_var")) return {1.0f, 0.1f};
  if (ends_with(n, "norm.weight") || ends_with(n, "layernorm.weight") || ends_with(n, "bn.weight"))
    return {1.0f, 0.1f};
  if (n.find("layer_scale") != std::string::npos) return {0.1f, 0.02f};
  if (ends_with(n, "bias") || ends_with(n, "running_mean")) return {0.0f, 0.02f};
  if (n.find("embed_tokens") != std::string::npos || n.find("lm_head") != std::string::npos)
    return {0.0f, 0.05f};
  int64_t fan_in = 1;
  for (size_t i = 1; i < s.shape.size(); ++i) fan_in *= s.shape[i];
  return {0.0f, std::sqrt(3.0f / float(std::max<int64_t>(1, fan_in)))};
}

}  // namespace

TensorMap random_weights(const std::vector<TensorSpec>& table, uint64_t seed, DType dtype) {
  FVLM_CHECK(dtype == DType::F32 || dtype == DType::BF16, "random weights are F32 or BF16");
  TensorMap out;
  for (size_t ti = 0; ti < table.size(); ++ti) {
    const TensorSpec& s = table[ti];
    if (s.presence == Presence::kIgnored || s.presence == Presence::kOptional) continue;
    Tensor t = Tensor::zeros(dtype, s.shape);
    const auto [offset, half] = distribution(s);
    const int64_t n = t.numel();
    void* data = t.mutable_data();
    constexpr int64_t kChunk = 1 << 16;  // each chunk has its own stream: same result for any thread count
    parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        uint64_t state = seed * 0x100000001b3ull + ti * 0x9e3779b9ull + uint64_t(c);
        for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
          const float u = float(splitmix64(state) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
          const float v = offset + half * (2.0f * u - 1.0f);
          if (dtype == DType::F32)
            static_cast<float*>(data)[i] = v;
          else
            static_cast<uint16_t*>(data)[i] = f32_to_bf16(v);
        }
      }
    });
    out.emplace(s.name, std::move(t));
  }
  return out;
}

}  // namespace fvlm
