// Builds the LLM input for a multimodal prompt as LLaVA's prepare_inputs_labels_for_multimodal does:
// each IMAGE_TOKEN_INDEX (-200) placeholder in the prompt ids is replaced by all rows of the next
// image's projected features, text ids are embedded with embed_tokens, positions stay contiguous.
#pragma once
#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "decoder/llm_backend.h"

namespace fvlm::dec {

inline constexpr int32_t kImageTokenIndex = -200;  // llava/constants.py IMAGE_TOKEN_INDEX

// Rows of the spliced sequence: text ids + every image's feature rows (before truncation).
int64_t spliced_length(std::span<const int32_t> ids, std::span<const Tensor> images);

// inputs_embeds [L, hidden] = [embed(ids before the 1st -200); images[0]; embed(ids between); images[1];
// ...]. `images`: one F32 [n_tokens_i, hidden] tensor per placeholder, in order (a count mismatch is
// Error{kBadArgs}). max_len > 0 truncates to that many rows (tokenizer_model_max_length), as the
// reference does.
Tensor splice_image_features(const Tensor& embed_tokens, std::span<const int32_t> ids,
                             std::span<const Tensor> images, int64_t max_len = 0);
// The same with the text rows from the backend's embed() (the pipeline's way: no weights needed).
Tensor splice_image_features(const LlmBackend& llm, std::span<const int32_t> ids,
                             std::span<const Tensor> images, int64_t max_len = 0);

}  // namespace fvlm::dec
