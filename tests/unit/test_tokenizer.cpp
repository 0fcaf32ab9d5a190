// decoder/ tokenizer: every golden case (HF tokenizers ids + decoded text), both file layouts,
// added tokens, NFC, UTF-8 repair/replacement, streaming, BPE fast path vs reference, errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "decoder/bpe.h"
#include "decoder/byte_unicode.h"
#include "decoder/normalize.h"
#include "decoder/tokenizer.h"
#include "decoder/tokenizer_files.h"
#include "decoder/utf8.h"
#include "tests/test_util.h"

using namespace fvlm;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Case {
  std::string text, decoded, decoded_hex;
  std::vector<int32_t> ids;
};

std::vector<Case> golden_cases() {
  std::ifstream f(test::golden("tiny/tokenizer/cases.json"));
  const json j = json::parse(f);
  std::vector<Case> out;
  for (const json& c : j.at("cases"))
    out.push_back(
        {c.at("text"), c.at("decoded"), c.at("decoded_utf8_hex"), c.at("ids").get<std::vector<int32_t>>()});
  return out;
}

std::string golden_model() { return test::golden("tiny/model"); }

const Tokenizer& golden_tokenizer() {
  static const Tokenizer tok = Tokenizer::load(golden_model());  // loaded once for all tests
  return tok;
}

std::string hex(std::string_view s) {
  std::string out;
  for (char c : s) out += fmt::format("{:02x}", uint8_t(c));
  return out;
}

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::path(test::temp_path("tok_" + name));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

Errc load_error(const std::string& dir) {
  try {
    Tokenizer::load(dir);
  } catch (const Error& e) {
    MESSAGE(std::string(e.what()));
    return e.code();
  }
  return Errc::kInternal;  // no error at all
}

// Deterministic assorted text: ASCII words, digits, punctuation, whitespace runs, Latin with
// combining marks, CJK, emoji.
std::string random_text(std::mt19937& rng, int n_chars) {
  static const std::vector<std::string> alphabet = {
      "a",    "b",  "e",  "o",  "T",  "Z",        "0",      "7",      " ", " ",       "  ",      "\n",
      "\r\n", "\t", ".",  ",",  "'s", "'LL",      "$",      "€",      "é", "e\u0301", "A\u030a", "\u0301",
      "ß",    "ñ",  "中", "文", "😀",  "👍🏽", "\u00a0", "\u3000", "١", "ä"};
  std::string s;
  for (int i = 0; i < n_chars; ++i) s += alphabet[rng() % alphabet.size()];
  return s;
}

}  // namespace

TEST_CASE("tokenizer: every golden case from vocab.json + merges.txt") {
  const Tokenizer& tok = golden_tokenizer();
  const std::vector<Case> cases = golden_cases();
  int matched = 0;
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const std::vector<int32_t> ids = tok.encode(c.text);
    CHECK(ids == c.ids);
    const std::string decoded = tok.decode(c.ids);
    CHECK(decoded == c.decoded);
    CHECK(hex(decoded) == c.decoded_hex);
    matched += ids == c.ids && decoded == c.decoded;
  }
  MESSAGE(fmt::format("{} / {} golden tokenizer cases match", matched, cases.size()));
  CHECK(cases.size() > 100);
  CHECK(matched == int(cases.size()));
}

TEST_CASE("tokenizer: tokenizer.json (both merges formats) gives identical ids") {
  const TokenizerFiles files = read_tokenizer_files(golden_model());
  json vocab = json::object(), merges = json::array(), added = json::array();
  for (const auto& [t, id] : files.vocab) vocab[t] = id;
  for (size_t r = 0; r < files.merges.size(); ++r) {  // even ranks "a b", odd ranks ["a", "b"]
    const auto& [a, b] = files.merges[r];
    merges.push_back(r % 2 == 0 ? json(a + " " + b) : json::array({a, b}));
  }
  for (const AddedToken& a : files.added)
    added.push_back({{"id", a.id}, {"content", a.content}, {"special", a.special}, {"normalized", false}});
  const json tj = {{"version", "1.0"},
                   {"added_tokens", added},
                   {"normalizer", {{"type", "NFC"}}},
                   {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
  const fs::path dir = temp_dir("json");
  write(dir / "tokenizer.json", tj.dump());
  const Tokenizer from_json = Tokenizer::load(dir.string());
  const Tokenizer& from_txt = golden_tokenizer();
  CHECK(from_json.size() == from_txt.size());
  CHECK(from_json.merges() == from_txt.merges());
  CHECK(from_json.tokens() == from_txt.tokens());
  int same = 0;
  const std::vector<Case> cases = golden_cases();
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(from_json.encode(c.text) == c.ids);
    same += from_json.encode(c.text) == c.ids;
    CHECK(from_json.decode(c.ids) == c.decoded);
  }
  CHECK(same == int(cases.size()));
  fs::remove_all(dir);
}

TEST_CASE("tokenizer: sizes, lookups and export tables") {
  const Tokenizer& tok = golden_tokenizer();
  const TokenizerFiles files = read_tokenizer_files(golden_model());
  int32_t max_id = 0;
  for (const auto& [t, id] : files.vocab) max_id = std::max(max_id, id);
  for (const AddedToken& a : files.added) max_id = std::max(max_id, a.id);
  CHECK(tok.size() == max_id + 1);
  CHECK(int(tok.tokens().size()) == tok.size());
  CHECK(tok.merges().size() == files.merges.size());
  CHECK(tok.merges()[0] == files.merges[0].first + " " + files.merges[0].second);
  for (const AddedToken& a : files.added) {
    CHECK(tok.token_id(a.content) == a.id);
    CHECK(tok.is_special(a.id) == a.special);
    CHECK(tok.tokens()[size_t(a.id)] == a.content);
  }
  CHECK(tok.token_id("<|im_end|>") == 151645);
  CHECK(tok.token_id("Hello") == 9707);
  CHECK(tok.tokens()[9707] == "Hello");
  CHECK(tok.token_id("\u0120world") == 1879);  // "Ġworld": byte-level form
  CHECK(tok.token_bytes(1879) == " world");
  CHECK(!tok.token_id(" world"));
  CHECK(!tok.is_special(9707));
  CHECK(!tok.is_special(-200));
}

TEST_CASE("tokenizer: added tokens inside text, longest match first, never merged") {
  const Tokenizer& tok = golden_tokenizer();
  const int32_t im_start = *tok.token_id("<|im_start|>"), im_end = *tok.token_id("<|im_end|>");
  const int32_t image = *tok.token_id("<image>");
  const std::vector<int32_t> hello = tok.encode("hello");
  std::vector<int32_t> expect = hello;
  expect.push_back(im_end);
  expect.push_back(image);
  expect.insert(expect.end(), hello.begin(), hello.end());
  CHECK(tok.encode("hello<|im_end|><image>hello") == expect);
  CHECK(tok.encode("<|im_start|><|im_start|>") == std::vector<int32_t>{im_start, im_start});
  CHECK(tok.decode(expect) == "hello<|im_end|><image>hello");
  CHECK(tok.decode(expect, /*skip_special=*/true) == "hellohello");

  // Overlapping added tokens: the longer wins at the same position, the leftmost wins overall.
  TokenizerFiles f;
  for (int b = 0; b < 256; ++b) f.vocab.emplace_back(bytes_to_byte_unicode(std::string(1, char(b))), b);
  f.vocab.emplace_back("ab", 256);
  f.merges.emplace_back("a", "b");
  f.added = {{300, "<x>", true}, {301, "<x><y>", true}, {302, "x><y", false}};
  f.vocab_source = f.merges_source = "synthetic";
  const Tokenizer small = Tokenizer::from_files(f);
  CHECK(small.size() == 303);
  CHECK(small.tokens()[257] == "[PAD257]");
  CHECK(small.encode("ab<x><y>ab") == std::vector<int32_t>{256, 301, 256});
  CHECK(small.encode("<x><z>") == std::vector<int32_t>{300, '<', 'z', '>'});
  CHECK(small.encode("x><y>") == std::vector<int32_t>{302, '>'});
  CHECK(small.decode(std::vector<int32_t>{256, 302, 301}, true) == "abx><y");  // 302 is not special
  CHECK(small.is_added(302));
  CHECK(!small.is_special(302));
}

TEST_CASE("tokenizer: empty input and round trips decode(encode(s)) == NFC(s)") {
  const Tokenizer& tok = golden_tokenizer();
  CHECK(tok.encode("").empty());
  CHECK(tok.decode(std::vector<int32_t>{}).empty());
  const std::vector<std::string> fixed = {"Hello, world!",
                                          "  leading\n\n\ttrailing  ",
                                          "e\u0301te\u0301 A\u030angstro\u0308m",
                                          "中文 日本語 한국어",
                                          "😀👨‍👩‍👧 🇺🇸",
                                          "TOTAL $1,234.56\r\n",
                                          "a\0b",
                                          "<|im_start|>user\n<image>\nhi<|im_end|>",
                                          "\u00a0\u2028\u3000 \u0085x",
                                          "x²+y₂=z³ ½ ⅞ ①②",
                                          "'S 'Ll 'T 'RE"};
  std::mt19937 rng(7);
  std::vector<std::string> texts = fixed;
  texts[6] = std::string("a\0b", 3);
  for (int i = 0; i < 300; ++i) texts.push_back(random_text(rng, 1 + int(rng() % 40)));
  for (const std::string& s : texts) {
    CAPTURE(s);
    CHECK(tok.decode(tok.encode(s)) == nfc_ref(s));
  }
}

TEST_CASE("tokenizer: ill-formed UTF-8 in input is replaced by U+FFFD before tokenizing") {
  const Tokenizer& tok = golden_tokenizer();
  CHECK(tok.encode("caf\xC3") == tok.encode("caf\uFFFD"));
  CHECK(tok.encode("a\xFF\xFE b") == tok.encode("a\uFFFD\uFFFD b"));
  CHECK(tok.encode("x\xE2\x82 <|im_end|>\xF0\x9F") == tok.encode("x\uFFFD <|im_end|>\uFFFD"));
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) {  // random bytes: no crash, output decodes to well-formed text
    std::string s(size_t(rng() % 64), '\0');
    for (char& c : s) c = char(rng());
    const std::string back = tok.decode(tok.encode(s));
    CHECK(utf8::is_valid(back));
    CHECK(back == nfc_ref(utf8::decode_lossy(s)));
  }
}

TEST_CASE("tokenizer: decode replaces ill-formed UTF-8 like Python errors='replace'") {
  // Unicode ch. 3 "U+FFFD Substitution of Maximal Subparts" examples, as Python decodes them.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"61F18080E180C262806380BF64", "61efbfbdefbfbdefbfbd62efbfbd63efbfbdefbfbd64"},
      {"C0AF", "efbfbdefbfbd"},
      {"E080AF", "efbfbdefbfbdefbfbd"},
      {"EDA080", "efbfbdefbfbdefbfbd"},
      {"F4908080", "efbfbdefbfbdefbfbdefbfbd"},
      {"E282", "efbfbd"},
      {"FF", "efbfbd"},
      {"F09F9880", "f09f9880"}};
  const Tokenizer& tok = golden_tokenizer();
  for (const auto& [in_hex, out_hex] : cases) {
    std::string bytes;
    for (size_t i = 0; i < in_hex.size(); i += 2) bytes += char(std::stoi(in_hex.substr(i, 2), nullptr, 16));
    CHECK(hex(utf8::decode_lossy(bytes)) == out_hex);
    std::vector<int32_t> ids;  // the same bytes as single-byte tokens through the tokenizer
    for (char b : bytes) ids.push_back(*tok.token_id(bytes_to_byte_unicode(std::string(1, b))));
    CHECK(hex(tok.decode(ids)) == out_hex);
  }
}

TEST_CASE("tokenizer: StreamDecoder output equals decode, holding partial characters") {
  const Tokenizer& tok = golden_tokenizer();
  std::vector<std::vector<int32_t>> id_lists;
  for (const Case& c : golden_cases()) id_lists.push_back(c.ids);
  std::vector<int32_t> bytes_ids;  // "é😀" + lone C3 + "x", one byte token each
  for (char b : std::string("\xC3\xA9\xF0\x9F\x98\x80\xC3x"))
    bytes_ids.push_back(*tok.token_id(bytes_to_byte_unicode(std::string(1, b))));
  id_lists.push_back(bytes_ids);
  for (const auto& ids : id_lists) {
    for (bool skip : {false, true}) {
      StreamDecoder sd(tok, skip);
      std::string out;
      for (int32_t id : ids) {
        const std::string piece = sd.push(id);
        CHECK(utf8::is_valid(piece));
        out += piece;
      }
      out += sd.flush();
      CHECK(out == tok.decode(ids, skip));
    }
  }
  StreamDecoder sd(tok);
  CHECK(sd.push(bytes_ids[0]).empty());  // C3: held
  CHECK(sd.push(bytes_ids[1]) == "é");
  CHECK(sd.push(bytes_ids[2]).empty());
  CHECK(sd.flush() == "\uFFFD");  // an unfinished F0 at the end
}

TEST_CASE("tokenizer: bpe_merge equals the reference on short and long words") {
  const TokenizerFiles files = read_tokenizer_files(golden_model());
  const Tokenizer& tok = golden_tokenizer();
  MergeTable table(files.merges.size());
  for (size_t r = 0; r < files.merges.size(); ++r) {
    const auto& [a, b] = files.merges[r];
    table.insert(*tok.token_id(a), *tok.token_id(b), {int32_t(r), *tok.token_id(a + b)});
  }
  CHECK(table.size() == files.merges.size());
  std::mt19937 rng(3);
  const std::string letters = "aaaabbeeinorst  .0\n\xC3\xA9";
  for (int len : {2, 3, 5, 17, 63, 64, 65, 100, 257}) {
    for (int rep = 0; rep < 20; ++rep) {
      std::string word(size_t(len), 'a');
      if (rep > 0)  // rep 0: a single repeated byte, the worst case for tie-breaking
        for (char& c : word) c = letters[rng() % letters.size()];
      std::vector<int32_t> fast, ref;
      for (char c : word) fast.push_back(*tok.token_id(bytes_to_byte_unicode(std::string(1, c))));
      ref = fast;
      bpe_merge(table, fast);
      bpe_merge_ref(table, ref);
      CAPTURE(word);
      CHECK(fast == ref);
    }
  }
}

TEST_CASE("tokenizer: ASCII-skipping NFC equals utf8proc on whole strings") {
  std::mt19937 rng(5);
  std::string buf;
  for (int i = 0; i < 500; ++i) {
    const std::string s = random_text(rng, int(rng() % 30));
    CAPTURE(s);
    CHECK(std::string(nfc(s, buf)) == nfc_ref(s));
  }
  CHECK(std::string(nfc("e\u0301", buf)) == "\u00e9");
  CHECK(std::string(nfc("A\u030a!", buf)) == "\u00c5!");
}

TEST_CASE("tokenizer: one Tokenizer used from several threads") {
  const Tokenizer& tok = golden_tokenizer();
  const std::vector<Case> cases = golden_cases();
  std::vector<int> ok(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        for (const Case& c : cases) ok[size_t(t)] += tok.encode(c.text) == c.ids;
    });
  for (auto& th : threads) th.join();
  CHECK(ok[0] == int(5 * cases.size()));
  CHECK(ok[1] == int(5 * cases.size()));
}

TEST_CASE("tokenizer: missing or malformed files are clear errors") {
  CHECK(load_error("/nonexistent/fvlm/model") == Errc::kNotFound);
  const fs::path dir = temp_dir("err");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // no tokenizer files
  const std::string good_merges = "#version: 0.2\na b\n";
  std::string vocab = "{";
  for (int b = 0; b < 256; ++b)
    vocab += json(bytes_to_byte_unicode(std::string(1, char(b)))).dump() + ": " + std::to_string(b) + ",";
  const std::string good_vocab = vocab + "\"ab\": 256}";

  write(dir / "vocab.json", good_vocab);
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // merges.txt missing
  write(dir / "merges.txt", good_merges);
  CHECK_NOTHROW(Tokenizer::load(dir.string()));
  CHECK(Tokenizer::load(dir.string()).encode("abab") == std::vector<int32_t>{256, 256});

  write(dir / "merges.txt", "#version: 0.2\na b c\n");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // three tokens on a line
  write(dir / "merges.txt", "a q\xC3\xA9\n");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // token not in the vocabulary
  write(dir / "merges.txt", good_merges);
  write(dir / "vocab.json", good_vocab.substr(0, good_vocab.size() - 3));
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // truncated JSON
  write(dir / "vocab.json", "[1, 2]");
  CHECK(load_error(dir.string()) == Errc::kBadModel);
  write(dir / "vocab.json", "{\"a\": 0, \"b\": 1, \"ab\": 2}");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // no single-byte tokens for most bytes
  // Ids size the tables: one near INT32_MAX overflowed the size and wrote past them; one above the
  // bound would ask for gigabytes. Both are refused before any table is sized.
  for (const int64_t id : {int64_t(INT32_MAX), int64_t(kMaxTokenIds)}) {
    write(dir / "vocab.json", vocab + "\"ab\": " + std::to_string(id) + "}");
    CHECK(load_error(dir.string()) == Errc::kBadModel);
    write(dir / "vocab.json", good_vocab);
    write(dir / "added_tokens.json", "{\"<x>\": " + std::to_string(id) + "}");
    CHECK(load_error(dir.string()) == Errc::kBadModel);
    fs::remove(dir / "added_tokens.json");
  }
  write(dir / "vocab.json", vocab + "\"ab\": " + std::to_string(kMaxTokenIds - 1) + "}");
  CHECK(Tokenizer::load(dir.string()).size() == kMaxTokenIds);  // the largest id allowed
  write(dir / "vocab.json", good_vocab);
  write(dir / "added_tokens.json", "{\"<x>\": \"300\"}");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // id is not an integer
  write(dir / "added_tokens.json", "{\"<x>\": 300}");
  write(dir / "tokenizer_config.json", "{\"added_tokens_decoder\": {\"300\": {\"content\": \"<y>\"}}}");
  CHECK(load_error(dir.string()) == Errc::kBadModel);  // id 300 named twice differently

  const fs::path jdir = temp_dir("errjson");
  write(jdir / "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
  CHECK(load_error(jdir.string()) == Errc::kBadModel);
  write(jdir / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [1]}}");
  CHECK(load_error(jdir.string()) == Errc::kBadModel);
  write(jdir / "tokenizer.json", "{\"model\": ");
  CHECK(load_error(jdir.string()) == Errc::kBadModel);
  fs::remove_all(dir);
  fs::remove_all(jdir);
}
