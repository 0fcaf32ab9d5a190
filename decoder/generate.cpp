#include "decoder/generate.h"

#include <algorithm>

namespace fvlm::dec {

GenerateResult generate(LlmBackend& llm, const float* embeds, int T, Sampler& sampler,
                        const StopOptions& stop, const std::function<bool(int32_t)>& on_token,
                        const std::function<void(std::span<const float>)>& on_prefill) {
  GenerateResult r;
  if (stop.max_new_tokens <= 0) return r;
  std::span<const float> logits = llm.prefill(embeds, T);
  if (on_prefill) on_prefill(logits);
  for (;;) {
    const int32_t id = sampler.sample(logits, r.ids);
    const bool is_stop = std::find(stop.stop_ids.begin(), stop.stop_ids.end(), id) != stop.stop_ids.end();
    if (is_stop && !stop.ignore_eos) {
      r.reason = StopReason::kStopToken;
      return r;
    }
    r.ids.push_back(id);
    if (on_token && !on_token(id)) {
      r.reason = StopReason::kCallback;
      return r;
    }
    if (int(r.ids.size()) >= stop.max_new_tokens) {
      r.reason = StopReason::kMaxTokens;
      return r;
    }
    logits = llm.decode_step(id);
  }
}

}  // namespace fvlm::dec
