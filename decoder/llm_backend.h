// The narrow seam between generation code and whatever runs the language model. The CPU
// implementation is Qwen2Session (qwen2.h); a GPU backend would implement the same interface.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

namespace fvlm::dec {

class LlmBackend {
 public:
  virtual ~LlmBackend() = default;
  virtual int hidden_size() const = 0;
  // Length of every logits span returned: the output rows computed (the valid vocabulary).
  virtual int64_t n_logits() const = 0;
  virtual int n_past() const = 0;      // positions already in the KV cache
  virtual int max_tokens() const = 0;  // KV cache capacity of this request
  // Embedding rows of `ids` into out [ids.size(), hidden]. Ids outside the table: Error{kBadArgs}.
  virtual void embed(std::span<const int32_t> ids, float* out) const = 0;
  // Appends T input embeddings [T, hidden] (the whole prompt in one batched pass) at positions
  // n_past.. n_past+T-1; returns the logits of the last one (valid until the next call).
  virtual std::span<const float> prefill(const float* embeds, int T) = 0;
  // Appends one token; returns its logits.
  virtual std::span<const float> decode_step(int32_t token) = 0;
  // Forgets all positions (the cache is reused).
  virtual void reset() = 0;
};

}  // namespace fvlm::dec
