// The KV cache of one generation request: F32 keys and values (after RoPE for keys) of every layer,
// sized to the request (prompt + new tokens), laid out [layer][position][kv_heads * head_dim] so
// that the k/v projections of T new tokens write straight into it.
#pragma once
#include <fmt/format.h>

#include <cstdint>

#include "core/error.h"
#include "core/tensor.h"

namespace fvlm::dec {

class KvCache {
 public:
  KvCache() = default;
  KvCache(int n_layers, int max_tokens, int kv_dim)
      : n_layers_(n_layers), max_tokens_(max_tokens), kv_dim_(kv_dim) {
    const Shape s{int64_t(n_layers), int64_t(max_tokens), int64_t(kv_dim)};
    k_ = Tensor::zeros(DType::F32, s);
    v_ = Tensor::zeros(DType::F32, s);
  }
  int max_tokens() const { return max_tokens_; }
  int kv_dim() const { return kv_dim_; }
  float* k(int layer, int pos) { return k_.f32() + offset(layer, pos); }
  float* v(int layer, int pos) { return v_.f32() + offset(layer, pos); }
  const float* k(int layer, int pos) const { return k_.f32() + offset(layer, pos); }
  const float* v(int layer, int pos) const { return v_.f32() + offset(layer, pos); }

 private:
  int64_t offset(int layer, int pos) const {
    FVLM_DCHECK(layer >= 0 && layer < n_layers_ && pos >= 0 && pos <= max_tokens_);
    return (int64_t(layer) * max_tokens_ + pos) * kv_dim_;
  }
  int n_layers_ = 0, max_tokens_ = 0, kv_dim_ = 0;
  Tensor k_, v_;
};

}  // namespace fvlm::dec
