// models/convert: the golden tiny model converted to GGUF at each type; every tensor, name, dtype,
// shape and the llama.cpp metadata checked against the source checkpoint.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/gguf.h"
#include "decoder/qwen2_tensors.h"
#include "decoder/tokenizer.h"
#include "models/convert.h"
#include "models/gguf_source.h"
#include "models/model_source.h"
#include "quant/matmul_quant.h"
#include "tests/test_util.h"

using namespace fvlm;
namespace fs = std::filesystem;

namespace {

std::string convert_tiny(DType t) {
  const std::string out = test::temp_path(fmt::format("convert_{}", dtype_name(t)));
  fs::remove_all(out);
  convert_model({test::golden("tiny/model"), out, t});
  return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const Tensor fa = quant::dequantize(a), fb = quant::dequantize(b);
  double m = 0;
  for (int64_t i = 0; i < fa.numel(); ++i) m = std::max(m, double(std::fabs(fa.f32()[i] - fb.f32()[i])));
  return m;
}

}  // namespace

TEST_CASE("convert: per-tensor storage policy at each asked type") {
  const TensorSpec attn{"a", {64, 64}, TensorRole::kLlm, QuantPolicy::kUpToInt8};
  const TensorSpec ffn{"f", {128, 64}, TensorRole::kLlm, QuantPolicy::kUpToInt4};
  const TensorSpec odd{"o", {64, 48}, TensorRole::kLlm, QuantPolicy::kUpToInt8};  // 48: no whole blocks
  const TensorSpec norm{"n", {64}, TensorRole::kLlm, QuantPolicy::kKeepF32};
  const TensorSpec conv{"c", {64, 64, 1, 1}, TensorRole::kVision, QuantPolicy::kFloat16};
  CHECK(convert_storage_dtype(attn, DType::Q4_0, false) == DType::Q8_0);
  CHECK(convert_storage_dtype(attn, DType::Q8_0, false) == DType::Q8_0);
  CHECK(convert_storage_dtype(attn, DType::BF16, false) == DType::BF16);
  CHECK(convert_storage_dtype(ffn, DType::Q4_0, false) == DType::Q4_0);
  CHECK(convert_storage_dtype(ffn, DType::Q4_0, true) == DType::Q8_0);  // the output matrix
  CHECK(convert_storage_dtype(ffn, DType::Q8_0, true) == DType::Q8_0);
  CHECK(convert_storage_dtype(ffn, DType::F32, true) == DType::F32);
  CHECK(convert_storage_dtype(odd, DType::Q4_0, false) == DType::F16);
  CHECK(convert_storage_dtype(norm, DType::Q4_0, false) == DType::F32);
  CHECK(convert_storage_dtype(conv, DType::Q4_0, false) == DType::F16);
  CHECK(convert_storage_dtype(conv, DType::BF16, false) == DType::BF16);
  // --pure: no mixture for the LLM matrices; vision convs and norms keep their policy.
  CHECK(convert_storage_dtype(attn, DType::Q4_0, false, true) == DType::Q4_0);
  CHECK(convert_storage_dtype(ffn, DType::Q4_0, true, true) == DType::Q4_0);
  CHECK(convert_storage_dtype(odd, DType::Q4_0, false, true) == DType::F16);
  CHECK(convert_storage_dtype(norm, DType::Q4_0, false, true) == DType::F32);
  CHECK(convert_storage_dtype(conv, DType::Q4_0, false, true) == DType::F16);
  // The table marks exactly the attention projections and ffn_down kUpToInt8.
  const ModelSource src = open_model_source(test::golden("tiny/model"));
  int int8_specs = 0;
  for (const TensorSpec& s : llm_tensor_table(src.config)) {
    const bool attn_proj =
        s.name.find("self_attn.") != std::string::npos && s.name.find(".weight") != std::string::npos;
    const bool down = s.name.find("mlp.down_proj.weight") != std::string::npos;
    CHECK((s.quant == QuantPolicy::kUpToInt8) == (attn_proj || down));
    int8_specs += s.quant == QuantPolicy::kUpToInt8;
  }
  CHECK(int8_specs == 5 * src.config.llm.num_hidden_layers);
}

TEST_CASE("convert: --type names") {
  CHECK(parse_convert_type("q4_0") == DType::Q4_0);
  CHECK(parse_convert_type("Q8_0") == DType::Q8_0);
  CHECK(parse_convert_type("bf16") == DType::BF16);
  CHECK_THROWS_AS(parse_convert_type("q5_k"), Error);
  CHECK(gguf_vision_tensor_name("model.mm_projector.2.bias") == "mm.2.bias");
}

TEST_CASE("convert: every LLM table entry has its own llama.cpp name") {
  Qwen2Config c;
  c.hidden_size = 64, c.intermediate_size = 128, c.num_hidden_layers = 12, c.num_attention_heads = 4;
  c.num_key_value_heads = 2, c.vocab_size = 100;
  std::map<std::string, std::string> gguf;
  std::set<std::string> distinct;
  for (const TensorSpec& s : dec::qwen2_tensor_table(c)) {
    CAPTURE(s.name);
    CHECK(!s.gguf_name.empty());
    distinct.insert(s.gguf_name);
    gguf[s.name] = s.gguf_name;
  }
  CHECK(distinct.size() == gguf.size());  // no two tensors share a GGUF name
  CHECK(gguf.at("model.layers.11.mlp.down_proj.weight") == "blk.11.ffn_down.weight");
  CHECK(gguf.at("model.layers.0.self_attn.k_proj.bias") == "blk.0.attn_k.bias");
  CHECK(gguf.at("model.embed_tokens.weight") == "token_embd.weight");
  CHECK(gguf.at("model.norm.weight") == "output_norm.weight");
  CHECK(gguf.at("lm_head.weight") == "output.weight");
}

TEST_CASE("convert: f32 LLM file holds the checkpoint exactly, in llama.cpp qwen2 conventions") {
  const std::string out = convert_tiny(DType::F32);
  const ModelSource src = open_model_source(test::golden("tiny/model"));
  const GgufFile f = GgufFile::open((fs::path(out) / kGgufLlmFile).string());
  const Qwen2Config& c = src.config.llm;
  CHECK(f.get("general.architecture").as_string() == "qwen2");
  CHECK(f.get("general.file_type").as_int() == 0);
  CHECK(f.get("qwen2.block_count").as_int() == c.num_hidden_layers);
  CHECK(f.get("qwen2.embedding_length").as_int() == c.hidden_size);
  CHECK(f.get("qwen2.feed_forward_length").as_int() == c.intermediate_size);
  CHECK(f.get("qwen2.attention.head_count").as_int() == c.num_attention_heads);
  CHECK(f.get("qwen2.attention.head_count_kv").as_int() == c.num_key_value_heads);
  CHECK(f.get("qwen2.rope.freq_base").as_float() == doctest::Approx(c.rope_theta));
  CHECK(f.get("qwen2.attention.layer_norm_rms_epsilon").as_float() == doctest::Approx(c.rms_norm_eps));
  CHECK(f.get("tokenizer.ggml.model").as_string() == "gpt2");
  CHECK(f.get("tokenizer.ggml.pre").as_string() == "qwen2");

  // One token per embedding row; ids past the tokenizer are [PAD{id}] of type UNUSED (5).
  const Tokenizer tok = Tokenizer::load(src.dir);
  const auto& tokens = f.get("tokenizer.ggml.tokens").as_strings();
  const std::vector<int64_t> types = f.get("tokenizer.ggml.token_type").as_ints();
  REQUIRE(int64_t(tokens.size()) == c.vocab_size);
  REQUIRE(types.size() == tokens.size());
  CHECK(f.tensor("token_embd.weight").dim(0) == int64_t(tokens.size()));
  CHECK(tokens.back() == fmt::format("[PAD{}]", c.vocab_size - 1));
  CHECK(types.back() == 5);
  CHECK(tokens[0] == tok.tokens()[0]);
  CHECK(types[0] == 1);
  const int32_t im_end = tok.token_id("<|im_end|>").value();
  CHECK(tokens[size_t(im_end)] == "<|im_end|>");
  CHECK(types[size_t(im_end)] == 3);  // CONTROL
  CHECK(f.get("tokenizer.ggml.eos_token_id").as_int() == im_end);
  CHECK(f.get("tokenizer.ggml.bos_token_id").as_int() == c.bos_token_id);
  CHECK(f.get("tokenizer.ggml.merges").as_strings() == tok.merges());
  CHECK(!f.get("tokenizer.ggml.add_bos_token").as_bool());
  CHECK(f.find("tokenizer.chat_template") != nullptr);

  int checked = 0;
  for (const TensorSpec& spec : llm_tensor_table(src.config)) {
    if (!src.tensors.count(spec.name) || spec.name == "lm_head.weight") continue;
    CAPTURE(spec.name);
    const Tensor got = f.tensor(spec.gguf_name);
    CHECK(got.dtype() == DType::F32);
    CHECK(got.shape() == spec.shape);
    const Tensor want = to_f32(src.tensors.at(spec.name));
    CHECK(std::memcmp(got.data(), want.data(), size_t(want.nbytes())) == 0);
    ++checked;
  }
  CHECK(checked == int(f.tensor_infos().size()));
  CHECK(!f.has_tensor("output.weight"));  // tied: llama.cpp and our decoder reuse token_embd
}

TEST_CASE("convert: q8_0 and q4_0 quantise the LLM matrices, keep norms and biases F32") {
  const ModelSource src = open_model_source(test::golden("tiny/model"));
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(t));
    const GgufFile f = GgufFile::open((fs::path(convert_tiny(t)) / kGgufLlmFile).string());
    CHECK(f.get("general.file_type").as_int() == (t == DType::Q8_0 ? 7 : 2));
    const Tensor gate = f.tensor("blk.0.ffn_gate.weight");
    CHECK(gate.dtype() == t);
    const Tensor ref = quant::quantize(src.tensors.at("model.layers.0.mlp.gate_proj.weight"), t);
    CHECK(std::memcmp(gate.data(), ref.data(), size_t(ref.nbytes())) ==
          0);                                                         // the reference quantiser's bytes
    CHECK(f.tensor("blk.1.ffn_down.weight").dtype() == DType::Q8_0);  // never below 8 bits (mixed q4_0)
    CHECK(f.tensor("blk.1.ffn_up.weight").dtype() == t);
    // Attention projections never go below 8 bits: Q8_0 at q8_0 and at q4_0 (mixed file).
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output"})
      for (int layer : {0, 1})
        CHECK(f.tensor(fmt::format("blk.{}.{}.weight", layer, name)).dtype() == DType::Q8_0);
    const Tensor q = f.tensor("blk.0.attn_q.weight");
    const Tensor q_ref =
        quant::quantize(src.tensors.at("model.layers.0.self_attn.q_proj.weight"), DType::Q8_0);
    CHECK(std::memcmp(q.data(), q_ref.data(), size_t(q_ref.nbytes())) == 0);
    CHECK(f.tensor("blk.0.attn_q.bias").dtype() == DType::F32);
    CHECK(f.tensor("blk.0.attn_norm.weight").dtype() == DType::F32);
    CHECK(f.tensor("output_norm.weight").dtype() == DType::F32);
    // The tied embedding is also the output matrix: Q8_0 even at q4_0.
    CHECK(f.tensor("token_embd.weight").dtype() == DType::Q8_0);
    const Tensor& up = src.tensors.at("model.layers.1.mlp.up_proj.weight");
    const double err = max_abs_diff(f.tensor("blk.1.ffn_up.weight"), up);
    double amax = 0;
    const Tensor upf = to_f32(up);
    for (int64_t i = 0; i < upf.numel(); ++i) amax = std::max(amax, double(std::fabs(upf.f32()[i])));
    CHECK(err <= amax * (t == DType::Q8_0 ? 1.0 / 127 : 1.0 / 8) * 1.01);
  }
}

TEST_CASE("convert --pure: every LLM matrix at q4_0, output included, vision and norms unchanged") {
  const std::string out = test::temp_path("convert_pure");
  fs::remove_all(out);
  ConvertOptions o{test::golden("tiny/model"), out, DType::Q4_0};
  o.pure = true;
  convert_model(o);
  const GgufFile f = GgufFile::open((fs::path(out) / kGgufLlmFile).string());
  for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
    CHECK(f.tensor(fmt::format("blk.1.{}.weight", name)).dtype() == DType::Q4_0);
  CHECK(f.tensor("token_embd.weight").dtype() == DType::Q4_0);
  CHECK(f.tensor("blk.0.attn_norm.weight").dtype() == DType::F32);
  const GgufFile v = GgufFile::open((fs::path(out) / kGgufVisionFile).string());
  CHECK(v.tensor("mm.0.weight").dtype() == DType::F16);
  fs::remove_all(out);
}

TEST_CASE("convert: vision file has fastvlm.* keys, F16 convs at q8_0 and folded BatchNorm") {
  const ModelSource src = open_model_source(test::golden("tiny/model"));
  const GgufFile f = GgufFile::open((fs::path(convert_tiny(DType::Q8_0)) / kGgufVisionFile).string());
  const FastVitHdConfig& v = src.config.vision;
  CHECK(f.get("general.architecture").as_string() == "fastvlm");
  CHECK(f.get("fastvlm.vision.image_size").as_int() == v.image_size);
  CHECK(f.get("fastvlm.vision.layers").as_ints() == std::vector<int64_t>(v.layers.begin(), v.layers.end()));
  CHECK(f.get("fastvlm.vision.embed_dims").as_ints() ==
        std::vector<int64_t>(v.embed_dims.begin(), v.embed_dims.end()));
  CHECK(f.get("fastvlm.vision.token_mixers").as_strings().back() == "attention");
  CHECK(f.get("fastvlm.projector.type").as_string() == src.config.mm_projector_type);
  CHECK(f.get("fastvlm.vision.batchnorm_folded").as_bool());
  const ModelConfig back =
      parse_model_config(nlohmann::json::parse(f.get("fastvlm.config_json").as_string()));
  CHECK(back.vision.embed_dims == v.embed_dims);
  CHECK(back.llm.hidden_size == src.config.llm.hidden_size);

  for (const GgufTensorInfo& t : f.tensor_infos()) {
    CAPTURE(t.name);
    CHECK(t.name.find(".bn.") == std::string::npos);
    CHECK((t.dtype == DType::F16 || t.dtype == DType::F32));
  }
  CHECK(f.tensor("mm.0.weight").dtype() == DType::F16);
  CHECK(f.tensor("mm.0.bias").dtype() == DType::F32);

  // One ConvFFN by hand: w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps).
  std::string conv;
  for (const auto& [name, t] : src.tensors)
    if (name.find("convffn.conv.conv.weight") != std::string::npos) conv = name;
  REQUIRE(!conv.empty());
  const std::string bn = conv.substr(0, conv.size() - std::string("conv.weight").size()) + "bn.";
  const Tensor w = to_f32(src.tensors.at(conv)), g = to_f32(src.tensors.at(bn + "weight"));
  const Tensor be = to_f32(src.tensors.at(bn + "bias")), mu = to_f32(src.tensors.at(bn + "running_mean"));
  const Tensor var = to_f32(src.tensors.at(bn + "running_var"));
  const std::string gname = gguf_vision_tensor_name(conv);
  const Tensor fw = quant::dequantize(f.tensor(gname));
  const Tensor fb = f.tensor(gname.substr(0, gname.size() - 6) + "bias");
  const int64_t per = w.numel() / w.dim(0);
  for (int64_t o = 0; o < w.dim(0); ++o) {
    const float s = g.f32()[o] / std::sqrt(var.f32()[o] + v.batchnorm_eps);
    CHECK(fb.f32()[o] == doctest::Approx(be.f32()[o] - mu.f32()[o] * s).epsilon(1e-6));
    for (int64_t j = 0; j < per; ++j)
      REQUIRE(fw.f32()[o * per + j] == doctest::Approx(w.f32()[o * per + j] * s).epsilon(1e-3).scale(1e-4));
  }
}

TEST_CASE("convert: the GGUF pair opens back as the checkpoint (names, values, tokenizer)") {
  const std::string out = convert_tiny(DType::F32);
  const ModelSource hf = open_model_source(test::golden("tiny/model"));
  CHECK(is_gguf_model_path(out));
  CHECK(!is_gguf_model_path(test::golden("tiny/model")));
  const ModelSource g =
      open_gguf_model_source((fs::path(out) / kGgufVisionFile).string());  // either file works
  CHECK(g.format == ModelFormat::kGguf);
  CHECK(g.config.llm.vocab_size == hf.config.llm.vocab_size);
  CHECK(g.config.vision.embed_dims == hf.config.vision.embed_dims);
  for (const auto& [name, t] : g.tensors) {
    CAPTURE(name);
    REQUIRE(hf.tensors.count(name));
    if (name.find("convffn.conv") != std::string::npos) continue;  // folded: checked below
    const Tensor a = to_f32(t), b = to_f32(hf.tensors.at(name));
    REQUIRE(a.shape() == b.shape());
    CHECK(std::memcmp(a.data(), b.data(), size_t(a.nbytes())) == 0);
  }
  // Every tensor of the table that the checkpoint has comes back under its own name (tied lm_head:
  // llama.cpp reuses token_embd; ignored ones are not written).
  int round_tripped = 0;
  for (const TensorSpec& s : model_tensor_table(hf.config)) {
    if (s.presence == Presence::kIgnored || !hf.tensors.count(s.name)) continue;
    if (s.name == "lm_head.weight" && hf.config.llm.tie_word_embeddings) continue;
    CAPTURE(s.name);
    CHECK(g.tensors.count(s.name) == 1);
    ++round_tripped;
  }
  CHECK(round_tripped > 100);
  // The identity BatchNorm folds to scale 1 exactly, so folding at load gives the converter's conv.
  for (const auto& [name, t] : g.tensors)
    if (name.find("convffn.conv.bn.weight") != std::string::npos) {
      const std::string p = name.substr(0, name.size() - std::string("bn.weight").size());
      const float eps = g.config.vision.batchnorm_eps;
      for (int64_t i = 0; i < t.numel(); ++i)
        REQUIRE(t.f32()[i] / std::sqrt(g.tensors.at(p + "bn.running_var").f32()[i] + eps) == 1.0f);
    }
  const Tokenizer a = Tokenizer::from_files(gguf_tokenizer_files(out)), b = Tokenizer::load(hf.dir);
  for (const char* text :
       {"Hello, world! 123", "<|im_start|>user\n<image>\nDescribe.<|im_end|>", "  spaces\tand ünïcödé"})
    CHECK(a.encode(text) == b.encode(text));
  CHECK(a.decode(b.encode("round trip ✓")) == "round trip ✓");
}
