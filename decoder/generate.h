// The generation loop over an LlmBackend: prefill the prompt embeddings, then sample / decode until
// a stop id (unless ignore_eos) or max_new_tokens.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "decoder/llm_backend.h"
#include "decoder/sampler.h"

namespace fvlm::dec {

enum class StopReason { kStopToken, kMaxTokens, kCallback };

struct GenerateResult {
  std::vector<int32_t> ids;  // generated ids, the stop id excluded
  StopReason reason = StopReason::kMaxTokens;
};

// on_token(id) is called for every kept id (streaming); returning false stops generation. The
// repetition penalty sees the generated ids only (HF generate() with inputs_embeds).
// on_prefill(logits) is called once the prompt is in, with the logits of its last position (before
// the first sample): the caller's hook to time the prefill or keep those logits.
GenerateResult generate(LlmBackend& llm, const float* embeds, int T, Sampler& sampler,
                        const StopOptions& stop, const std::function<bool(int32_t)>& on_token = {},
                        const std::function<void(std::span<const float>)>& on_prefill = {});

}  // namespace fvlm::dec
