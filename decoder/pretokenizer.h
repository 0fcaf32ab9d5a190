// The Qwen2 pre-tokenizer: splits normalised text into pieces with PRETOKENIZE_REGEX of
// transformers' tokenization_qwen2.py (HF tokenizers: Split(pattern, behavior="isolated")).
// PCRE2 in UTF + UCP mode, compiled and JIT-compiled once; matching is const and thread-safe.
#pragma once
#include <string_view>
#include <vector>

struct pcre2_real_code_8;

namespace fvlm {

class Qwen2PreTokenizer {
 public:
  Qwen2PreTokenizer();
  ~Qwen2PreTokenizer();
  Qwen2PreTokenizer(const Qwen2PreTokenizer&) = delete;
  Qwen2PreTokenizer& operator=(const Qwen2PreTokenizer&) = delete;

  // Appends the pieces of `text` (must be valid UTF-8) in order; together they cover `text`.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace fvlm
