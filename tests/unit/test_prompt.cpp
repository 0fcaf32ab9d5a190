// decoder/chat_template and models/answer_parse: the prompt string and placeholder layout of the
// golden e2e cases, and count parsing.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "decoder/chat_template.h"
#include "models/answer_parse.h"
#include "tests/test_util.h"

using namespace fvlm;

TEST_CASE("chat template: reproduces the golden e2e prompts exactly") {
  const nlohmann::json cases = test::golden_e2e_cases();
  for (const auto& c : cases) {
    CAPTURE(c["tag"].get<std::string>());
    CHECK(qwen2_chat_prompt(c["question"].get<std::string>()) == c["prompt"].get<std::string>());
  }
  std::ifstream t(test::golden("tiny/llm/text_cases.json"));
  const auto text = nlohmann::json::parse(t)["cases"];
  CHECK(qwen2_chat_prompt("What is the capital of France?", kDefaultSystemPrompt, 0) ==
        text[0]["prompt"].get<std::string>());
}

TEST_CASE("chat template: a conversation puts the image in the first user message, history as text") {
  const std::vector<ChatMessage> one = {{ChatRole::kUser, "What is it?"}};
  CHECK(qwen2_chat_prompt(one, "S", 1) == qwen2_chat_prompt("What is it?", "S", 1));
  const std::vector<ChatMessage> three = {
      {ChatRole::kUser, "What is it?"}, {ChatRole::kAssistant, "A cat."}, {ChatRole::kUser, "Its colour?"}};
  CHECK(qwen2_chat_prompt(three, "S", 1) ==
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<image>\nWhat is it?<|im_end|>\n"
        "<|im_start|>assistant\nA cat.<|im_end|>\n<|im_start|>user\nIts colour?<|im_end|>\n"
        "<|im_start|>assistant\n");
  CHECK(qwen2_chat_prompt(three, "S", 0).find("<image>") == std::string::npos);
}

TEST_CASE("chat template: chunks around <image> are tokenised separately") {
  std::vector<std::string> chunks;
  auto enc = [&](std::string_view s) {
    chunks.emplace_back(s);
    return std::vector<int32_t>{int32_t(s.size())};
  };
  const auto ids = tokenize_with_images("ab<image>\ncd<image>", enc);
  CHECK(ids == std::vector<int32_t>{2, kImagePlaceholderId, 3, kImagePlaceholderId});
  CHECK(chunks == std::vector<std::string>{"ab", "\ncd"});
}

TEST_CASE("parse_count: digits, words, none") {
  CHECK(parse_count("There are 12 apples.") == 12);
  CHECK(parse_count("1,234 people") == 1234);
  CHECK(parse_count("7") == 7);
  CHECK(parse_count("I count three bottles.") == 3);
  CHECK(parse_count("twenty-one") == 21);
  CHECK(parse_count("Three hundred and five") == 305);
  CHECK(parse_count("a dozen eggs") == 12);
  CHECK(parse_count("There are no cars in the image.") == 0);
  CHECK(parse_count("None.") == 0);
  CHECK_FALSE(parse_count("I cannot tell.").has_value());
  CHECK_FALSE(parse_count("").has_value());
  CHECK(parse_count("about 2.5") == 2);
}
