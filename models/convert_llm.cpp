// convert, LLM half: Qwen2 weights + tokenizer -> a GGUF file in llama.cpp's `qwen2` conventions
// (mirrors convert_hf_to_gguf.py Qwen2Model + get_vocab_base + gguf.SpecialVocab).
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/gguf.h"
#include "decoder/tokenizer.h"
#include "models/convert.h"
#include "models/convert_parts.h"

namespace fvlm {
namespace fs = std::filesystem;
namespace {

// gguf.TokenType
enum TokenType : int64_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

nlohmann::json read_json_if_present(const fs::path& p) {
  if (!fs::exists(p)) return nlohmann::json::object();
  std::ifstream f(p);
  nlohmann::json j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Errc::kBadModel, fmt::format("{}: not a JSON object", p.string()));
  return j;
}

// tokenizer_config.json names special tokens by content, as a string or {"content": ...}.
std::optional<int32_t> special_id(const Tokenizer& tok, const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  std::string content;
  if (it->is_string())
    content = it->get<std::string>();
  else if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    content = (*it)["content"];
  else
    return std::nullopt;
  return tok.token_id(content);
}

// convert_hf_to_gguf.py does_token_look_special: "<|...|>" counts as a control token.
bool looks_special(const std::string& t) {
  return t.size() >= 4 && t.rfind("<|", 0) == 0 && t.compare(t.size() - 2, 2, "|>") == 0;
}

void add_tokenizer(GgufWriter& w, const ModelSource& src) {
  const Tokenizer tok = Tokenizer::load(src.dir);
  const Qwen2Config& c = src.config.llm;
  // llama.cpp requires one token per embedding row: pad with [PAD{id}] marked UNUSED.
  const int n = std::max(c.vocab_size, tok.size());
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int64_t> types(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string pad = fmt::format("[PAD{}]", i);
    if (i >= tok.size() || tok.tokens()[size_t(i)] == pad) {
      tokens[size_t(i)] = pad;
      types[size_t(i)] = kUnused;
      continue;
    }
    tokens[size_t(i)] = tok.tokens()[size_t(i)];
    if (!tok.is_added(i))
      types[size_t(i)] = kNormal;
    else
      types[size_t(i)] = tok.is_special(i) || looks_special(tokens[size_t(i)]) ? kControl : kUserDefined;
  }
  w.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::string("qwen2"));
  w.set("tokenizer.ggml.tokens", GgufValue::strings(std::move(tokens)));
  w.set("tokenizer.ggml.token_type", GgufValue::ints(GgufType::kI32, types));
  w.set("tokenizer.ggml.merges", GgufValue::strings(tok.merges()));

  const nlohmann::json cfg = read_json_if_present(fs::path(src.dir) / "tokenizer_config.json");
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(uint32_t(c.bos_token_id)));
  w.set("tokenizer.ggml.eos_token_id",
        GgufValue::u32(uint32_t(special_id(tok, cfg, "eos_token").value_or(c.eos_token_id))));
  if (auto pad = special_id(tok, cfg, "pad_token"))
    w.set("tokenizer.ggml.padding_token_id", GgufValue::u32(uint32_t(*pad)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(cfg.value("add_bos_token", false)));
  if (auto it = cfg.find("chat_template"); it != cfg.end() && it->is_string())
    w.set("tokenizer.chat_template", GgufValue::string(it->get<std::string>()));
}

}  // namespace

uint32_t llama_file_type(DType type) {  // llama.h enum llama_ftype
  switch (type) {
    case DType::F32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case DType::F16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case DType::Q4_0:
      return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case DType::Q8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case DType::BF16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
    default:
      throw Error(Errc::kBadArgs, fmt::format("convert: {} is not a model file type", dtype_name(type)));
  }
}

int write_llm_gguf(const ModelSource& src, DType type, bool pure, const SourcePages& pages, StagedFile& out) {
  const ModelConfig& mc = src.config;
  const Qwen2Config& c = mc.llm;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("qwen2"));
  w.set("general.name", GgufValue::string(mc.name.empty() ? fs::path(src.dir).filename().string() : mc.name));
  w.set("general.file_type", GgufValue::u32(llama_file_type(type)));
  w.set("general.quantization_version", GgufValue::u32(2));  // GGML_QNT_VERSION
  w.set("qwen2.block_count", GgufValue::u32(uint32_t(c.num_hidden_layers)));
  w.set("qwen2.context_length", GgufValue::u32(uint32_t(c.max_position_embeddings)));
  w.set("qwen2.embedding_length", GgufValue::u32(uint32_t(c.hidden_size)));
  w.set("qwen2.feed_forward_length", GgufValue::u32(uint32_t(c.intermediate_size)));
  w.set("qwen2.attention.head_count", GgufValue::u32(uint32_t(c.num_attention_heads)));
  w.set("qwen2.attention.head_count_kv", GgufValue::u32(uint32_t(c.num_key_value_heads)));
  w.set("qwen2.rope.freq_base", GgufValue::f32(c.rope_theta));
  w.set("qwen2.attention.layer_norm_rms_epsilon", GgufValue::f32(c.rms_norm_eps));
  add_tokenizer(w, src);

  int count = 0;
  for (const TensorSpec& spec : llm_tensor_table(mc)) {
    auto it = src.tensors.find(spec.name);
    if (spec.presence == Presence::kIgnored || it == src.tensors.end()) continue;
    if (spec.name == dec::kQwen2LmHead && c.tie_word_embeddings) continue;  // llama.cpp reuses token_embd
    const bool output_matrix =
        spec.name == dec::kQwen2LmHead || (spec.name == dec::kQwen2Embedding && c.tie_word_embeddings);
    const DType dt = convert_storage_dtype(spec, type, output_matrix, pure);
    w.add_tensor_rows(spec.gguf_name, dt, spec.shape, convert_rows(it->second, dt, pages));
    ++count;
  }
  w.write(out);
  return count;
}

}  // namespace fvlm
