// The Qwen2 byte-level BPE tokenizer (mirrors transformers' Qwen2Tokenizer / HF tokenizers with
// the Qwen2 tokenizer.json): added tokens matched first (longest match), then NFC, the Qwen2
// pre-tokenizer regex (PCRE2), byte-level alphabet and BPE merges by rank.
// A Tokenizer is immutable after load; encode/decode are const and safe from several threads
// (the word cache inside is sharded and locked). Copies share the same tables.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fvlm {

struct TokenizerFiles;
struct TokenizerTables;

class Tokenizer {
 public:
  // Reads vocab.json + merges.txt (+ added tokens) or tokenizer.json from a HF model directory.
  // Throws Error{kNotFound} (no such directory) or Error{kBadModel} (missing/malformed files).
  static Tokenizer load(const std::string& model_dir);
  static Tokenizer from_files(const TokenizerFiles& files);  // throws Error{kBadModel}

  // Token ids of `text`, no BOS. Added tokens (<|im_start|>, <image>, ...) in the text map to
  // their ids. Ill-formed UTF-8 in `text` is first replaced by U+FFFD (one per maximal subpart).
  std::vector<int32_t> encode(std::string_view text) const;

  // UTF-8 text of `ids`; ill-formed byte sequences become U+FFFD (HF errors="replace"). Ids
  // outside [0, size()) (e.g. the -200 image placeholder) are skipped.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  int size() const;  // len(tokenizer): highest id + 1 over vocab and added tokens
  std::optional<int32_t> token_id(std::string_view token) const;  // exact token string
  bool is_special(int32_t id) const;  // added token flagged special (control token)
  bool is_added(int32_t id) const;    // any added token (special or not)

  // Raw tables for GGUF export (tokenizer.ggml.tokens / merges): token strings in id order in the
  // byte-level unicode form of vocab.json (added tokens verbatim; unused ids are "[PAD<id>]"),
  // and merges in rank order as "a b".
  const std::vector<std::string>& tokens() const;
  const std::vector<std::string>& merges() const;

  // The bytes token `id` stands for (added tokens: their UTF-8 content); empty if out of range.
  std::string_view token_bytes(int32_t id) const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerTables> t) : t_(std::move(t)) {}
  std::shared_ptr<const TokenizerTables> t_;
};

// Incremental detokenizer for streaming: push ids, get back only complete UTF-8 text; an
// unfinished multi-byte character is held until the next id completes (or breaks) it.
// push(...) outputs followed by flush() concatenate to exactly decode(ids, skip_special).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false)
      : tokenizer_(&tokenizer), skip_special_(skip_special) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is held, with U+FFFD for an unfinished character

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // bytes not yet returned
};

}  // namespace fvlm
