// The narrow seam between generation code and whatever runs the language model. The CPU
// implementation is Qwen2Model / Qwen2Session (qwen2.h); a GPU backend would implement the same two
// interfaces. Nothing above the seam sees weights or a concrete session.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace fvlm::dec {

struct SessionOptions {
  int max_tokens = 0;      // KV cache capacity: prompt + new tokens of this request
  int64_t logit_rows = 0;  // output rows computed: the tokenizer size (ids >= it are never produced);
                           // 0 = every row of the output matrix
};

// One request's state (KV cache, scratch) over a model's weights.
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
  // Copies the first n positions of `from`'s cache (a session of the same model) into this one, which
  // then holds exactly those n positions: a prompt prefix computed once, reused by many requests.
  virtual void copy_prefix(const LlmBackend& from, int n) = 0;
  // Forgets all positions (the cache is reused).
  virtual void reset() = 0;
};

// A loaded language model: immutable weights that sessions run on (Qwen2Model on the CPU).
class LlmModel {
 public:
  virtual ~LlmModel() = default;
  // A fresh session; the model must outlive it.
  virtual std::unique_ptr<LlmBackend> new_session(const SessionOptions& o) const = 0;
  // One decode step for several sessions of this model at once (continuous batching): session b
  // appends tokens[b]. Returns the logits [B, n_logits()] (valid until the next call), row b exactly
  // what sessions[b]->decode_step(tokens[b]) would return: batching never changes a sequence's
  // result. Not thread-safe (one caller drives the batch).
  virtual std::span<const float> decode_batch(std::span<LlmBackend* const> sessions,
                                              std::span<const int32_t> tokens) = 0;
};

}  // namespace fvlm::dec
