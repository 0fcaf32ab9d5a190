#include "models/model_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "decoder/tokenizer_files.h"
#include "models/gguf_source.h"

namespace fvlm {
namespace fs = std::filesystem;
namespace {

// The added (special) tokens the chat template (decoder/chat_template.h) and the stop rule rely
// on. Without their definitions they would be split by BPE like plain text: the model would see a
// prompt it was never trained on and still answer, silently wrong.
constexpr std::string_view kChatTokens[] = {"<|im_start|>", "<|im_end|>", "<|endoftext|>"};

std::vector<std::string> missing_chat_tokens(const std::vector<AddedToken>& added) {
  std::vector<std::string> missing;
  for (std::string_view t : kChatTokens)
    if (std::none_of(added.begin(), added.end(), [&](const AddedToken& a) { return a.content == t; }))
      missing.emplace_back(t);
  return missing;
}

// Which files could have defined them, and in what state they are (for the one-line error).
std::string special_token_files(const fs::path& dir) {
  std::vector<std::string> absent, present;
  for (const char* name : {"added_tokens.json", "tokenizer_config.json", "tokenizer.json"})
    (fs::exists(dir / name) ? present : absent).push_back(name);
  std::string s;
  if (!absent.empty())
    s = fmt::format("{} {} missing", fmt::join(absent, ", "), absent.size() > 1 ? "are" : "is");
  if (!present.empty())
    s += fmt::format("{}{} {} not define them", s.empty() ? "" : "; ", fmt::join(present, ", "),
                     present.size() > 1 ? "do" : "does");
  return s;
}

void check_hf_chat_tokens(const std::string& dir, const std::vector<AddedToken>& added) {
  const std::vector<std::string> missing = missing_chat_tokens(added);
  if (!missing.empty())
    throw Error(Errc::kBadModel,
                fmt::format("tokenizer: {} defines no special token {} (the chat template's): {}", dir,
                            fmt::join(missing, ", "), special_token_files(dir)));
}

TokenizerFiles hf_tokenizer_files(const std::string& dir) {
  TokenizerFiles f = read_tokenizer_files(dir);
  check_hf_chat_tokens(dir, f.added);
  return f;
}

TokenizerFiles gguf_files_with_chat_tokens(const std::string& path) {
  TokenizerFiles f = gguf_tokenizer_files(path);
  const std::vector<std::string> missing = missing_chat_tokens(f.added);
  if (!missing.empty())
    throw Error(Errc::kBadModel, fmt::format("tokenizer: {} has no control token {} (the chat template's) in "
                                             "tokenizer.ggml.tokens",
                                             f.vocab_source, fmt::join(missing, ", ")));
  return f;
}

std::string model_dir(const std::string& path) {
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

}  // namespace

void check_chat_tokens(const ModelSource& src) {
  if (src.format == ModelFormat::kGguf)
    gguf_files_with_chat_tokens(src.path);
  else
    check_hf_chat_tokens(src.dir, read_added_tokens(src.dir));
}

Tokenizer open_tokenizer(const ModelSource& src) {
  Tokenizer tok = Tokenizer::from_files(
      src.format == ModelFormat::kGguf ? gguf_files_with_chat_tokens(src.path) : hf_tokenizer_files(src.dir));
  // Every token id must have an embedding row (the 0.5B has 151646 tokens for 151936 rows).
  if (tok.size() > src.config.llm.vocab_size)
    throw Error(Errc::kBadModel,
                fmt::format("tokenizer of {} has {} tokens but vocab_size is {} embedding rows", src.path,
                            tok.size(), src.config.llm.vocab_size));
  return tok;
}

Tokenizer load_model_tokenizer(const std::string& path_in) {
  const std::string path = resolve_model_path(path_in);
  if (is_gguf_model_path(path)) return Tokenizer::from_files(gguf_files_with_chat_tokens(path));
  return Tokenizer::from_files(hf_tokenizer_files(model_dir(path)));
}

}  // namespace fvlm
