// The Qwen2 pre-tokenizer: splits normalised text into pieces with PRETOKENIZE_REGEX of
// transformers' tokenization_qwen2.py (HF tokenizers: Split(pattern, behavior="isolated")).
// PCRE2 in UTF + UCP mode, compiled and JIT-compiled once; matching is const and thread-safe.
#pragma once
#include <string_view>
#include <vector>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace fvlm {

class Qwen2PreTokenizer {
 public:
  Qwen2PreTokenizer();
  ~Qwen2PreTokenizer();
  Qwen2PreTokenizer(const Qwen2PreTokenizer&) = delete;
  Qwen2PreTokenizer& operator=(const Qwen2PreTokenizer&) = delete;

  // Match state of one caller (PCRE2 match data is not shareable between threads).
  class Scratch {
   public:
    explicit Scratch(const Qwen2PreTokenizer& p);
    ~Scratch();
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

   private:
    friend class Qwen2PreTokenizer;
    pcre2_real_match_data_8* md_;
  };

  // Appends the pieces of text[pos..] (valid UTF-8) in order, at most max_pieces of them, and
  // returns where the next call continues (text.size() when done). Pieces cover the text.
  size_t split(std::string_view text, size_t pos, std::vector<std::string_view>& pieces, size_t max_pieces,
               Scratch& scratch) const;
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;  // all of it

 private:
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace fvlm
