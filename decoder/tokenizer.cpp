// Encode: added-token split -> (UTF-8 repair) -> NFC -> Qwen2 regex pieces -> BPE per piece.
// Mirrors Qwen2Tokenizer.tokenize/_tokenize/bpe and convert_tokens_to_string (transformers), which
// HF tokenizers reproduces with the Qwen2 tokenizer.json.
#include "decoder/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "core/error.h"
#include "decoder/bpe.h"
#include "decoder/byte_unicode.h"
#include "decoder/normalize.h"
#include "decoder/pretokenizer.h"
#include "decoder/token_index.h"
#include "decoder/tokenizer_files.h"
#include "decoder/utf8.h"

namespace fvlm {
namespace {

enum class Kind : uint8_t { kUnused, kVocab, kAdded, kSpecial };

// Added tokens are found in the raw text leftmost first, longest first at one position (HF
// tokenizers: aho-corasick MatchKind::LeftmostLongest).
class AddedMatcher {
 public:
  struct Match {
    size_t at = std::string_view::npos, len = 0;
    int32_t id = -1;
  };
  void add(const std::string& content, int32_t id) {
    entries_.push_back({content, id});
    auto& list = by_first_[uint8_t(content[0])];
    list.push_back(entries_.size() - 1);
    std::stable_sort(list.begin(), list.end(),
                     [&](size_t a, size_t b) { return entries_[a].first.size() > entries_[b].first.size(); });
    const int first = uint8_t(content[0]);
    single_first_ = entries_.size() == 1 || single_first_ == first ? first : -1;
  }
  Match find(std::string_view text, size_t from) const {
    if (entries_.empty()) return {};
    for (size_t i = from; i < text.size(); ++i) {
      if (single_first_ >= 0) {  // usually every added token starts with '<': memchr to it
        const void* p = std::memchr(text.data() + i, single_first_, text.size() - i);
        if (!p) return {};
        i = size_t(static_cast<const char*>(p) - text.data());
      }
      for (size_t e : by_first_[uint8_t(text[i])]) {
        const std::string& c = entries_[e].first;
        if (text.compare(i, c.size(), c) == 0) return {i, c.size(), entries_[e].second};
      }
    }
    return {};
  }

 private:
  std::vector<std::pair<std::string, int32_t>> entries_;
  std::array<std::vector<size_t>, 256> by_first_;
  int single_first_ = -1;  // the first byte shared by all entries, or -1
};

}  // namespace

struct TokenizerTables {
  std::vector<std::string> tokens;       // byte-level unicode form (added tokens verbatim)
  std::vector<std::string> token_bytes;  // what each id decodes to
  std::vector<Kind> kind;
  std::vector<std::string> merges_text;  // "a b", rank order
  TokenIndex token_to_id;                // tokens[id] -> id (vocab tokens and added contents)
  TokenIndex bytes_to_id;                // token_bytes[id] -> id over vocab ids, for ignore_merges
  std::array<int32_t, 256> byte_ids{};   // id of each single-byte token
  MergeTable merges;
  AddedMatcher added;
  Qwen2PreTokenizer pretokenizer;
  BpeCache cache;
  bool ignore_merges = false;
};

namespace {

// Per-call scratch: reused across the segments and pieces of one encode().
struct EncodeScratch {
  explicit EncodeScratch(const Qwen2PreTokenizer& p) : match(p) { pieces.reserve(kPieceBatch); }
  static constexpr size_t kPieceBatch = 256;  // pieces are split and merged in cache-sized batches
  Qwen2PreTokenizer::Scratch match;
  std::string repaired, normalized;
  std::vector<std::string_view> pieces;
  std::vector<int32_t> symbols;
};

void encode_piece(const TokenizerTables& t, std::string_view piece, std::vector<int32_t>& ids,
                  std::vector<int32_t>& symbols) {
  if (piece.size() == 1) {
    ids.push_back(t.byte_ids[uint8_t(piece[0])]);
    return;
  }
  if (t.ignore_merges) {
    if (const int32_t id = t.bytes_to_id.find(piece); id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  if (t.cache.lookup(piece, ids)) return;
  symbols.clear();
  for (char b : piece) symbols.push_back(t.byte_ids[uint8_t(b)]);
  bpe_merge(t.merges, symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  t.cache.insert(piece, symbols);
}

// Text without added tokens: repair, normalise, split, BPE.
void encode_ordinary(const TokenizerTables& t, std::string_view text, std::vector<int32_t>& ids,
                     EncodeScratch& s) {
  if (text.empty()) return;
  if (!utf8::is_valid(text)) {
    s.repaired = utf8::decode_lossy(text);
    text = s.repaired;
  }
  text = nfc(text, s.normalized);  // text = unicodedata.normalize("NFC", text)
  for (size_t pos = 0; pos < text.size();) {
    s.pieces.clear();
    pos = t.pretokenizer.split(text, pos, s.pieces, EncodeScratch::kPieceBatch,
                               s.match);  // re.findall(pat, text)
    for (std::string_view piece : s.pieces) encode_piece(t, piece, ids, s.symbols);
  }
}

// The id of `token`; `where` (called only on failure) names the file entry that needs it.
template <class Where>
int32_t require_id(const TokenIndex& vocab, std::string_view token, uint64_t hash, Where&& where) {
  const int32_t id = vocab.find(token, hash);
  if (id < 0)
    throw Error(Errc::kBadModel, fmt::format("tokenizer: {}: '{}' is not in the vocabulary", where(), token));
  return id;
}

template <class Where>
int32_t require_id(const TokenIndex& vocab, std::string_view token, Where&& where) {
  return require_id(vocab, token, TokenIndex::hash(token), where);
}

// The table size: one past the largest id. Checked before anything is sized by it: an id near
// INT32_MAX overflowed `id + 1` and indexed past the tables, and a large one asked for gigabytes.
int32_t id_count(const TokenizerFiles& f) {
  auto check = [&f](int32_t id, std::string_view token) {
    if (id < 0 || id >= kMaxTokenIds)
      throw Error(Errc::kBadModel, fmt::format("tokenizer: {}: id {} of '{}' is outside 0..{}",
                                               f.vocab_source, id, token, kMaxTokenIds - 1));
    return id + 1;
  };
  int32_t n = 0;
  for (const auto& [tok, id] : f.vocab) n = std::max(n, check(id, tok));
  for (const AddedToken& a : f.added) n = std::max(n, check(a.id, a.content));
  return n;
}

void build_vocab(const TokenizerFiles& f, TokenizerTables& t) {
  const int32_t n = id_count(f);
  t.tokens.assign(size_t(n), {});
  t.token_bytes.assign(size_t(n), {});
  t.kind.assign(size_t(n), Kind::kUnused);
  for (const auto& [tok, id] : f.vocab) {
    if (t.kind[size_t(id)] != Kind::kUnused)
      throw Error(Errc::kBadModel, fmt::format("tokenizer: {}: id {} is used twice", f.vocab_source, id));
    t.kind[size_t(id)] = Kind::kVocab;
    t.tokens[size_t(id)] = tok;
    // A character outside the byte alphabet cannot come from BPE; decode it as its UTF-8 (HF).
    t.token_bytes[size_t(id)] = byte_unicode_to_bytes(tok).value_or(tok);
  }
  for (const AddedToken& a : f.added) {
    if (a.content.empty())
      throw Error(Errc::kBadModel,
                  fmt::format("tokenizer: {}: added token {} is empty", f.vocab_source, a.id));
    const size_t id = size_t(a.id);
    if (t.kind[id] == Kind::kVocab && t.tokens[id] != a.content)
      throw Error(Errc::kBadModel, fmt::format("tokenizer: {}: added token '{}' reuses id {} of '{}'",
                                               f.vocab_source, a.content, a.id, t.tokens[id]));
    t.kind[id] = a.special ? Kind::kSpecial : Kind::kAdded;
    t.tokens[id] = a.content;
    t.token_bytes[id] = a.content;
    t.added.add(a.content, a.id);
  }
  t.token_to_id.build(&t.tokens, size_t(n));
  for (int32_t id = 0; id < n; ++id)  // vocab first: an added token with the same text wins
    if (t.kind[size_t(id)] == Kind::kVocab) t.token_to_id.insert(id);
  for (const AddedToken& a : f.added) t.token_to_id.insert(a.id);
  for (size_t id = 0; id < size_t(n); ++id)
    if (t.kind[id] == Kind::kUnused) t.tokens[id] = fmt::format("[PAD{}]", id);
  for (int b = 0; b < 256; ++b)
    t.byte_ids[size_t(b)] = require_id(t.token_to_id, bytes_to_byte_unicode(std::string(1, char(b))),
                                       [&] { return f.vocab_source + " (single-byte tokens)"; });
  t.ignore_merges = f.ignore_merges;
  if (t.ignore_merges) {
    t.bytes_to_id.build(&t.token_bytes, size_t(n));
    for (int32_t id = 0; id < n; ++id)
      if (t.kind[size_t(id)] == Kind::kVocab) t.bytes_to_id.insert(id);
  }
}

void build_merges(const TokenizerFiles& f, TokenizerTables& t) {
  t.merges = MergeTable(f.merges.size());
  t.merges_text.resize(f.merges.size());
  for (size_t rank = 0; rank < f.merges.size(); ++rank) {
    const auto& [a, b] = f.merges[rank];
    t.merges_text[rank].append(a).append(1, ' ').append(b);
  }
  // The lookups are cache misses in a 150k-entry table: hash and prefetch a block, then resolve.
  constexpr size_t kBlock = 32;
  uint64_t hashes[kBlock][3];
  std::string joined[kBlock];
  for (size_t start = 0; start < f.merges.size(); start += kBlock) {
    const size_t end = std::min(f.merges.size(), start + kBlock);
    for (size_t r = start; r < end; ++r) {
      const auto& [a, b] = f.merges[r];
      joined[r - start].assign(a).append(b);
      hashes[r - start][0] = TokenIndex::hash(a);
      hashes[r - start][1] = TokenIndex::hash(b);
      hashes[r - start][2] = TokenIndex::hash(joined[r - start]);
      for (uint64_t h : hashes[r - start]) t.token_to_id.prefetch(h);
    }
    for (size_t r = start; r < end; ++r) {
      const auto& [a, b] = f.merges[r];
      auto where = [&f, r] {  // (not [&]: clang before 16 cannot capture a structured binding)
        return fmt::format("{} (merge of rank {}: '{} {}')", f.merges_source, r, f.merges[r].first,
                           f.merges[r].second);
      };
      const uint64_t* h = hashes[r - start];
      const int32_t left = require_id(t.token_to_id, a, h[0], where);
      const int32_t right = require_id(t.token_to_id, b, h[1], where);
      const int32_t merged = require_id(t.token_to_id, joined[r - start], h[2], where);
      t.merges.insert(left, right, {int32_t(r), merged});  // bpe_ranks = dict(zip(merges, range))
    }
  }
}

}  // namespace

Tokenizer Tokenizer::from_files(const TokenizerFiles& files) {
  auto t = std::make_shared<TokenizerTables>();
  build_vocab(files, *t);
  build_merges(files, *t);
  return Tokenizer(std::move(t));
}

Tokenizer Tokenizer::load(const std::string& model_dir) {
  return from_files(read_tokenizer_files(model_dir));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 4 + 4);
  EncodeScratch scratch(t_->pretokenizer);
  size_t pos = 0;
  for (;;) {  // tokens_trie.split(text): added tokens are never normalised or BPE-merged
    const AddedMatcher::Match m = t_->added.find(text, pos);
    if (m.id < 0) {
      encode_ordinary(*t_, text.substr(pos), ids, scratch);
      return ids;
    }
    encode_ordinary(*t_, text.substr(pos, m.at - pos), ids, scratch);
    ids.push_back(m.id);
    pos = m.at + m.len;
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= size()) continue;
    if (skip_special && t_->kind[size_t(id)] == Kind::kSpecial) continue;
    bytes += t_->token_bytes[size_t(id)];
  }
  return utf8::decode_lossy(bytes);  // bytearray(...).decode("utf-8", errors="replace")
}

int Tokenizer::size() const { return int(t_->tokens.size()); }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  const int32_t id = t_->token_to_id.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < size() && t_->kind[size_t(id)] == Kind::kSpecial;
}

bool Tokenizer::is_added(int32_t id) const {
  return id >= 0 && id < size() &&
         (t_->kind[size_t(id)] == Kind::kSpecial || t_->kind[size_t(id)] == Kind::kAdded);
}

const std::vector<std::string>& Tokenizer::tokens() const { return t_->tokens; }
const std::vector<std::string>& Tokenizer::merges() const { return t_->merges_text; }

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= size()) return {};
  return t_->token_bytes[size_t(id)];
}

std::string StreamDecoder::push(int32_t id) {
  if (!(skip_special_ && tokenizer_->is_special(id))) pending_ += tokenizer_->token_bytes(id);
  const size_t ready = pending_.size() - size_t(utf8::incomplete_tail(pending_));
  std::string out = utf8::decode_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8::decode_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace fvlm
