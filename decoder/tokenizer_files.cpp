#include "decoder/tokenizer_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace fvlm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void bad(const fs::path& file, const std::string& why) {
  throw Error(Errc::kBadModel, fmt::format("tokenizer: {}: {}", file.string(), why));
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) bad(p, "cannot be read");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json parse_json(const fs::path& p) {
  try {
    return json::parse(read_file(p));
  } catch (const json::exception& e) {
    bad(p, fmt::format("is not valid JSON ({})", e.what()));
  }
}

// vocab.json is one flat {"token": id} object of ~150k entries: a SAX pass avoids building a DOM.
struct VocabSax : nlohmann::json_sax<json> {
  std::vector<std::pair<std::string, int32_t>>* out;
  std::string key_, error;
  int depth = 0;
  bool fail(const std::string& why) {
    if (error.empty()) error = why;
    return false;
  }
  bool null() override { return fail("values must be integer ids"); }
  bool boolean(bool) override { return null(); }
  bool number_float(number_float_t, const string_t&) override { return null(); }
  bool string(string_t&) override { return null(); }
  bool binary(binary_t&) override { return null(); }
  bool number_integer(number_integer_t v) override {
    if (v < 0) return fail(fmt::format("negative id for '{}'", key_));
    return number_unsigned(number_unsigned_t(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth != 1) return fail("expected a flat object");
    if (v > number_unsigned_t(INT32_MAX)) return fail(fmt::format("id out of range for '{}'", key_));
    out->emplace_back(std::move(key_), int32_t(v));
    return true;
  }
  bool start_object(std::size_t) override { return ++depth == 1 || fail("expected a flat object"); }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override { return --depth >= 0; }
  bool start_array(std::size_t) override { return fail("expected an object, found an array"); }
  bool end_array() override { return false; }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    return fail(fmt::format("is not valid JSON at byte {} ({})", pos, e.what()));
  }
};

void read_vocab_json(const fs::path& p, TokenizerFiles& out) {
  const std::string text = read_file(p);
  VocabSax sax;
  sax.out = &out.vocab;
  out.vocab.reserve(text.size() / 16);
  if (!json::sax_parse(text, &sax) || !sax.error.empty()) bad(p, sax.error.empty() ? "malformed" : sax.error);
  if (out.vocab.empty()) bad(p, "has no tokens");
}

void read_merges_txt(const fs::path& p, TokenizerFiles& out) {
  const std::string text = read_file(p);
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const size_t sp = line.find(' ');
    if (sp == 0 || sp == std::string_view::npos || sp + 1 == line.size() ||
        line.find(' ', sp + 1) != std::string_view::npos)
      bad(p, fmt::format("line {} is not two tokens separated by one space", line_no));
    out.merges.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
  }
  if (out.merges.empty()) bad(p, "has no merges");
}

// Union of added_tokens.json {content: id} and tokenizer_config.json added_tokens_decoder
// {"id": {content, special}}; the latter decides `special`. Conflicting contents are an error.
void read_added_tokens(const fs::path& dir, TokenizerFiles& out) {
  std::map<int32_t, AddedToken> by_id;
  auto add = [&](const fs::path& file, int64_t id, const std::string& content, bool special) {
    if (id < 0 || id > INT32_MAX)
      bad(file, fmt::format("added token '{}' has id {} out of range", content, id));
    if (content.empty()) bad(file, fmt::format("added token {} is empty", id));
    auto [it, fresh] = by_id.try_emplace(int32_t(id), AddedToken{int32_t(id), content, special});
    if (!fresh && it->second.content != content)
      bad(file, fmt::format("id {} is '{}' here but '{}' elsewhere", id, content, it->second.content));
    it->second.special = special;
  };
  const fs::path added = dir / "added_tokens.json";
  if (fs::exists(added)) {
    const json j = parse_json(added);
    if (!j.is_object()) bad(added, "expected an object {\"token\": id}");
    for (const auto& [content, id] : j.items()) {
      if (!id.is_number_integer()) bad(added, fmt::format("id of '{}' is not an integer", content));
      add(added, id.get<int64_t>(), content, true);
    }
  }
  const fs::path config = dir / "tokenizer_config.json";
  if (fs::exists(config)) {
    const json j = parse_json(config);
    if (j.contains("added_tokens_decoder")) {
      const json& dec = j["added_tokens_decoder"];
      if (!dec.is_object()) bad(config, "added_tokens_decoder is not an object");
      for (const auto& [id_text, tok] : dec.items()) {
        int64_t id = -1;
        try {
          id = std::stoll(id_text);
        } catch (const std::exception&) {
          bad(config, fmt::format("added_tokens_decoder key '{}' is not an id", id_text));
        }
        if (!tok.is_object() || !tok.contains("content") || !tok["content"].is_string())
          bad(config, fmt::format("added_tokens_decoder[{}] has no string 'content'", id_text));
        add(config, id, tok["content"].get<std::string>(), tok.value("special", true));
      }
    }
  }
  for (auto& [id, tok] : by_id) out.added.push_back(std::move(tok));
}

// tokenizer.json "added_tokens": [{id, content, special}, ...].
void read_added_tokens_of_tokenizer_json(const fs::path& p, const json& j, TokenizerFiles& out) {
  if (!j.contains("added_tokens")) return;
  if (!j["added_tokens"].is_array()) bad(p, "added_tokens is not an array");
  for (const json& t : j["added_tokens"]) {
    if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["id"].is_number_integer() ||
        !t["content"].is_string())
      bad(p, "an added_tokens entry lacks an integer 'id' or a string 'content'");
    const int64_t id = t["id"].get<int64_t>();
    if (id < 0 || id > INT32_MAX) bad(p, fmt::format("added token id {} is out of range", id));
    const bool special = !t.contains("special") || !t["special"].is_boolean() || t["special"].get<bool>();
    out.added.push_back({int32_t(id), t["content"].get<std::string>(), special});
  }
  std::sort(out.added.begin(), out.added.end(), [](auto& a, auto& b) { return a.id < b.id; });
}

void read_tokenizer_json(const fs::path& p, TokenizerFiles& out) {
  const json j = parse_json(p);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) bad(p, "has no 'model' object");
  const json& model = j["model"];
  if (model.contains("type") && model["type"] != "BPE")
    bad(p, fmt::format("model.type is {}, expected \"BPE\"", model["type"].dump()));
  if (!model.contains("vocab") || !model["vocab"].is_object())
    bad(p, "model.vocab is missing or not an object");
  if (!model.contains("merges") || !model["merges"].is_array())
    bad(p, "model.merges is missing or not an array");
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      bad(p, fmt::format("model.vocab['{}'] is not a valid id", token));
    out.vocab.emplace_back(token, id.get<int32_t>());
  }
  size_t rank = 0;
  for (const json& m : model["merges"]) {
    if (m.is_string()) {  // older format: "a b"
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == 0 || sp == std::string::npos || sp + 1 == s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        bad(p, fmt::format("model.merges[{}] is not \"a b\"", rank));
      out.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      out.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      bad(p, fmt::format("model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", rank));
    }
    ++rank;
  }
  out.ignore_merges = model.value("ignore_merges", false);
  read_added_tokens_of_tokenizer_json(p, j, out);
  if (out.vocab.empty()) bad(p, "model.vocab is empty");
}

}  // namespace

std::vector<AddedToken> read_added_tokens(const std::string& model_dir) {
  const fs::path dir(model_dir), tj = dir / "tokenizer.json";
  TokenizerFiles out;
  read_added_tokens(dir, out);
  if (out.added.empty() && fs::exists(tj)) read_added_tokens_of_tokenizer_json(tj, parse_json(tj), out);
  return std::move(out.added);
}

TokenizerFiles read_tokenizer_files(const std::string& model_dir) {
  const fs::path dir(model_dir);
  if (!fs::is_directory(dir))
    throw Error(Errc::kNotFound, fmt::format("tokenizer: model directory '{}' does not exist", model_dir));
  TokenizerFiles out;
  const fs::path vocab = dir / "vocab.json", merges = dir / "merges.txt", tj = dir / "tokenizer.json";
  if (fs::exists(vocab) || fs::exists(merges)) {
    if (!fs::exists(vocab)) bad(vocab, "is missing (merges.txt is present)");
    if (!fs::exists(merges)) bad(merges, "is missing (vocab.json is present)");
    read_vocab_json(vocab, out);
    read_merges_txt(merges, out);
    read_added_tokens(dir, out);
    // A layout with vocab.json + merges.txt beside a tokenizer.json (Qwen2 releases ship both)
    // may define its added tokens only in the latter.
    if (out.added.empty() && fs::exists(tj)) read_added_tokens_of_tokenizer_json(tj, parse_json(tj), out);
    out.vocab_source = vocab.string();
    out.merges_source = merges.string();
  } else if (fs::exists(tj)) {
    read_tokenizer_json(tj, out);
    out.vocab_source = tj.string();
    out.merges_source = tj.string();
  } else {
    throw Error(
        Errc::kBadModel,
        fmt::format("tokenizer: {} has neither vocab.json + merges.txt nor tokenizer.json", model_dir));
  }
  return out;
}

}  // namespace fvlm
