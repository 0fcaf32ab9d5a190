#include "decoder/splice.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "decoder/embedding.h"

namespace fvlm::dec {

namespace {
int64_t count_placeholders(std::span<const int32_t> ids) {
  return std::count(ids.begin(), ids.end(), kImageTokenIndex);
}
}  // namespace

int64_t spliced_length(std::span<const int32_t> ids, std::span<const Tensor> images) {
  int64_t n = int64_t(ids.size()) - count_placeholders(ids);
  for (const Tensor& im : images) n += im.dim(0);
  return n;
}

namespace {
// `embed(ids, dst)` writes the text rows; H is the hidden size.
template <class Embed>
Tensor splice(const Embed& embed, int64_t H, std::span<const int32_t> ids, std::span<const Tensor> images,
              int64_t max_len) {
  if (count_placeholders(ids) != int64_t(images.size()))
    throw Error(Errc::kBadArgs, fmt::format("prompt has {} image placeholders but {} images were given",
                                            count_placeholders(ids), images.size()));
  for (const Tensor& im : images)
    if (im.dtype() != DType::F32 || im.rank() != 2 || im.dim(1) != H)
      throw Error(Errc::kBadArgs, fmt::format("image features {} {}, expected F32 [n, {}]",
                                              dtype_name(im.dtype()), shape_str(im.shape()), H));
  const int64_t L = spliced_length(ids, images);
  Tensor out = Tensor::zeros(DType::F32, {L, H});
  float* dst = out.f32();
  size_t next_image = 0, span_begin = 0;
  for (size_t i = 0; i <= ids.size(); ++i) {
    if (i < ids.size() && ids[i] != kImageTokenIndex) continue;
    embed(ids.subspan(span_begin, i - span_begin), dst);  // cur_input_embeds_no_im[i]
    dst += int64_t(i - span_begin) * H;
    if (i < ids.size()) {  // cur_image_features
      const Tensor& im = images[next_image++];
      std::memcpy(dst, im.f32(), size_t(im.nbytes()));
      dst += im.numel();
    }
    span_begin = i + 1;
  }
  if (max_len > 0 && L > max_len) {  // new_input_embeds[:tokenizer_model_max_length]
    Tensor cut = Tensor::zeros(DType::F32, {max_len, H});
    std::memcpy(cut.f32(), out.f32(), size_t(max_len * H) * sizeof(float));
    return cut;
  }
  return out;
}

}  // namespace

Tensor splice_image_features(const Tensor& embed_tokens, std::span<const int32_t> ids,
                             std::span<const Tensor> images, int64_t max_len) {
  const auto embed = [&](std::span<const int32_t> text, float* dst) { embed_rows(embed_tokens, text, dst); };
  return splice(embed, embed_tokens.dim(1), ids, images, max_len);
}

Tensor splice_image_features(const LlmBackend& llm, std::span<const int32_t> ids,
                             std::span<const Tensor> images, int64_t max_len) {
  const auto embed = [&](std::span<const int32_t> text, float* dst) {
    if (!text.empty()) llm.embed(text, dst);
  };
  return splice(embed, llm.hidden_size(), ids, images, max_len);
}

}  // namespace fvlm::dec
