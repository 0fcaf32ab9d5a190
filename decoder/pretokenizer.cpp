#include "decoder/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>

#include "core/error.h"

namespace fvlm {
namespace {

// PRETOKENIZE_REGEX, verbatim from tokenization_qwen2.py (= tokenizer.json pre_tokenizer Split).
// Contractions | letters with one leading non-letter | one digit | punctuation run (+ newlines)
// | whitespace ending in newlines | whitespace not followed by non-space | remaining whitespace.
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

Qwen2PreTokenizer::Qwen2PreTokenizer() {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kQwen2Pattern.data()), kQwen2Pattern.size(),
                        PCRE2_UTF | PCRE2_UCP, &err, &err_offset, nullptr);
  FVLM_CHECK(code_ != nullptr, "the Qwen2 pre-tokenizer pattern compiles");
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;  // falls back to the interpreter
}

Qwen2PreTokenizer::~Qwen2PreTokenizer() { pcre2_code_free(code_); }

Qwen2PreTokenizer::Scratch::Scratch(const Qwen2PreTokenizer& p)
    : md_(pcre2_match_data_create_from_pattern(p.code_, nullptr)) {
  FVLM_CHECK(md_ != nullptr, "out of memory for PCRE2 match data");
}

Qwen2PreTokenizer::Scratch::~Scratch() { pcre2_match_data_free(md_); }

size_t Qwen2PreTokenizer::split(std::string_view text, size_t pos, std::vector<std::string_view>& pieces,
                                size_t max_pieces, Scratch& scratch) const {
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.md_);
  for (size_t n = 0; n < max_pieces && pos < text.size(); ++n) {
    // The caller guarantees valid UTF-8, so the per-call UTF check is skipped.
    const int rc =
        jit_ ? pcre2_jit_match(code_, subject, text.size(), pos, 0, scratch.md_, nullptr)
             : pcre2_match(code_, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, scratch.md_, nullptr);
    if (rc < 0) {
      FVLM_CHECK(rc == PCRE2_ERROR_NOMATCH, "pre-tokenizer match failed");
      pieces.push_back(text.substr(pos));  // unreachable with this pattern: \s+ or a class matches
      return text.size();
    }
    if (ov[0] > pos) pieces.push_back(text.substr(pos, ov[0] - pos));  // "isolated": gaps are pieces
    FVLM_CHECK(ov[1] > ov[0], "every alternative of the pattern consumes at least one character");
    pieces.push_back(text.substr(ov[0], ov[1] - ov[0]));
    pos = ov[1];
  }
  return pos;
}

void Qwen2PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  Scratch scratch(*this);
  for (size_t pos = 0; pos < text.size();) pos = split(text, pos, pieces, SIZE_MAX, scratch);
}

}  // namespace fvlm
