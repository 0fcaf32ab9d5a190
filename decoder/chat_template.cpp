#include "decoder/chat_template.h"

#include <fmt/format.h>

namespace fvlm {

std::string qwen2_chat_prompt(std::string_view question, std::string_view system, int images) {
  std::string user;
  for (int i = 0; i < images; ++i) user += fmt::format("{}\n", kImageTag);  // DEFAULT_IMAGE_TOKEN + '\n'
  user += question;
  return fmt::format(
      "<|im_start|>system\n{}<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n", system,
      user);
}

std::vector<int32_t> tokenize_with_images(
    std::string_view prompt, const std::function<std::vector<int32_t>(std::string_view)>& encode) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (true) {
    const size_t at = prompt.find(kImageTag, start);
    const std::string_view chunk =
        prompt.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    if (!chunk.empty()) {
      const std::vector<int32_t> part = encode(chunk);
      ids.insert(ids.end(), part.begin(), part.end());
    }
    if (at == std::string_view::npos) break;
    ids.push_back(kImagePlaceholderId);
    start = at + kImageTag.size();
  }
  return ids;
}

}  // namespace fvlm
