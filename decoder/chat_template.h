// The prompt FastVLM was trained with (llava/conversation.py `conv_qwen_2`, predict.py) and the
// LLaVA tokenisation around the image placeholder (mm_utils.py `tokenizer_image_token`).
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fvlm {

inline constexpr int32_t kImagePlaceholderId = -200;  // IMAGE_TOKEN_INDEX, never a vocab id
inline constexpr std::string_view kImageTag = "<image>";
inline constexpr std::string_view kDefaultSystemPrompt = "You are a helpful assistant.";

// "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<image>\n{question}<|im_end|>\n"
// "<|im_start|>assistant\n". With images == 0 the "<image>\n" line is left out; with n > 1 it is
// repeated ("<image>\n" per image, in order).
std::string qwen2_chat_prompt(std::string_view question, std::string_view system = kDefaultSystemPrompt,
                              int images = 1);

// One message of a conversation. The system prompt is passed apart (qwen2_chat_prompt's `system`).
enum class ChatRole { kUser, kAssistant };
struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string text;
};

// A conversation in the same template (conv_qwen_2, SeparatorStyle.QWEN_2): every message as
// "<|im_start|>{role}\n{text}<|im_end|>\n", then "<|im_start|>assistant\n" for the answer. The
// `images` "<image>\n" lines open the first user message, where FastVLM saw its image in training.
// With one user message this is exactly the single-question prompt above.
std::string qwen2_chat_prompt(std::span<const ChatMessage> messages,
                              std::string_view system = kDefaultSystemPrompt, int images = 1);

// Splits the prompt on "<image>", tokenises each chunk separately (no merge across the boundary)
// and joins the chunks with kImagePlaceholderId.
std::vector<int32_t> tokenize_with_images(
    std::string_view prompt, const std::function<std::vector<int32_t>(std::string_view)>& encode);

}  // namespace fvlm
