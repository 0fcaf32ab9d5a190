// Reading a Qwen2 tokenizer from a Hugging Face model directory, in either layout:
//  * slow-tokenizer files: vocab.json + merges.txt (+ added_tokens.json, and the
//    `added_tokens_decoder` of tokenizer_config.json), as in the FastVLM releases;
//  * tokenizer.json (HF tokenizers): model.vocab, model.merges ("a b" or ["a","b"]), added_tokens.
// Produces plain tables; decoder/tokenizer.cpp builds the encoder from them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fvlm {

// The most token ids a tokenizer may have (ids 0 .. kMaxTokenIds - 1), and so the most embedding rows
// a config.json may ask for (models/config.cpp): 8x Qwen2's 151936 rows, above any released
// vocabulary. The tables are sized by the largest id, so a larger one in a file is refused first.
constexpr int32_t kMaxTokenIds = 1 << 21;

struct AddedToken {
  int32_t id = 0;
  std::string content;  // matched verbatim in the input text, before normalisation and BPE
  bool special = true;  // skipped by decode(skip_special=true)
};

struct TokenizerFiles {
  std::vector<std::pair<std::string, int32_t>> vocab;       // byte-level unicode token -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<AddedToken> added;                            // sorted by id
  bool ignore_merges = false;               // tokenizer.json model.ignore_merges: whole-word vocab hits win
  std::string vocab_source, merges_source;  // the files read, for error messages
};

// Prefers vocab.json + merges.txt; falls back to tokenizer.json. Throws Error{kNotFound} when
// model_dir does not exist, Error{kBadModel} (one line naming the file) when files are missing
// or malformed.
TokenizerFiles read_tokenizer_files(const std::string& model_dir);

// Only the added tokens of model_dir (added_tokens.json + tokenizer_config.json, or tokenizer.json's
// added_tokens when those define none): what a model-level check needs without the whole vocabulary.
std::vector<AddedToken> read_added_tokens(const std::string& model_dir);

}  // namespace fvlm
