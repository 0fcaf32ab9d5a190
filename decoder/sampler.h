// Next-token choice with Hugging Face generate() semantics, in its order: repetition penalty
// (RepetitionPenaltyLogitsProcessor), then temperature, top-k, top-p (the warpers), then argmax
// (temperature 0, greedy) or a draw from the softmax with a seeded RNG (same seed -> same tokens).
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace fvlm::dec {

struct SamplerOptions {
  float temperature = 0.0f;         // 0 = greedy (do_sample=False)
  int top_k = 0;                    // 0 = off; keeps every logit >= the k-th largest
  float top_p = 1.0f;               // 1 = off; smallest set of most likely ids with mass >= top_p
  float repetition_penalty = 1.0f;  // 1 = off; logit > 0: / penalty, logit < 0: * penalty
  uint64_t seed = 0;
};

// When generation stops. The stop ids are <|im_end|> and <|endoftext|> for Qwen2 chat models.
struct StopOptions {
  std::vector<int32_t> stop_ids;
  bool ignore_eos = false;  // never stop on stop_ids (the goldens are made that way)
  int max_new_tokens = 256;
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions o);
  // `logits` covers exactly the valid ids (the session computes only those rows, so an id >= the
  // tokenizer size cannot be produced). `history`: ids the repetition penalty applies to (HF: the
  // generate() input_ids, i.e. only generated tokens when the prompt is given as embeddings).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplerOptions& options() const { return o_; }

 private:
  int32_t draw(std::span<const int32_t> ids, std::span<const float> scores);

  SamplerOptions o_;
  std::mt19937_64 rng_;
  std::vector<float> scores_;
  std::vector<int32_t> order_;
};

}  // namespace fvlm::dec
