#include "decoder/chat_template.h"

#include <fmt/format.h>

namespace fvlm {

std::string qwen2_chat_prompt(std::string_view question, std::string_view system, int images) {
  const ChatMessage user{ChatRole::kUser, std::string(question)};
  return qwen2_chat_prompt(std::span(&user, 1), system, images);
}

std::string qwen2_chat_prompt(std::span<const ChatMessage> messages, std::string_view system, int images) {
  std::string prompt = fmt::format("<|im_start|>system\n{}<|im_end|>\n", system);
  bool images_placed = false;
  for (const ChatMessage& m : messages) {
    const bool user = m.role == ChatRole::kUser;
    prompt += user ? "<|im_start|>user\n" : "<|im_start|>assistant\n";
    if (user && !images_placed) {
      for (int i = 0; i < images; ++i)
        prompt += fmt::format("{}\n", kImageTag);  // DEFAULT_IMAGE_TOKEN + '\n'
      images_placed = true;
    }
    prompt += m.text;
    prompt += "<|im_end|>\n";
  }
  return prompt + "<|im_start|>assistant\n";
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
