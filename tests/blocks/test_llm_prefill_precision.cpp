// bf16 prefill (LlmPrecision::kBf16: the prefill matmuls as oneDNN bf16 x bf16 -> f32 primitives)
// against our FP32 prefill on the same weights, over the golden LLM text prompts and the golden e2e
// splices (projector outputs from the golden) and two-turn prompts made of both, for the BF16
// checkpoint and its F32, F16, Q8_0 and Q4_0 conversions (each weight type has its own conversion to
// bf16; Q8_0/Q4_0 below 48 tokens keep the int8 kernels in both modes, so there logits are equal). Issue 12's
// bar: last-position logits cosine >= 0.9995 and the same first token. Where oneDNN 2.6 has no bf16 matmul
// (below AVX-512, or FVLM_MAX_ISA=avx2) the tests report "SKIPPED:" and ctest marks them skipped.
// Also the int8 prefill on packed Q8_0/Q4_0 weights (quant/packed.h: what --weight-pages huge loads;
// the int8 kernels then take every prefill) against FP32 on the same weight values, same bar; it runs
// on every CPU. And --llm-precision int8 (oneDNN s8 matmuls on per-row requantised copies, from 48
// tokens: the multi-turn prompts), same bar, where oneDNN has VNNI.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/bf16_support.h"
#include "core/error.h"
#include "core/npy.h"
#include "decoder/linear.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/splice.h"
#include "decoder/weight_pages.h"
#include "models/config.h"
#include "models/convert.h"
#include "models/model_source.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {

// One prompt as input embeddings: a golden text case (ids embedded) or an e2e case (spliced).
struct Prompt {
  std::string tag;
  Tensor embeds;
};

std::vector<Prompt> golden_prompts(const Qwen2Weights& w, const ModelConfig& cfg) {
  std::vector<Prompt> out;
  const nlohmann::json text = test::golden_json("tiny/llm/text_cases.json");
  for (size_t k = 0; k < text["cases"].size(); ++k) {
    const std::vector<int32_t> ids =
        test::read_ids(test::golden("tiny/llm") + fmt::format("/text{}.input_ids.npy", k));
    out.push_back({fmt::format("text{}", k), splice_image_features(w.embed_tokens, ids, {})});
  }
  for (const auto& c : test::golden_e2e_cases()) {
    const std::string tag = c["tag"], image = c["image"];
    const std::vector<int32_t> ids = test::read_ids(test::golden("tiny/e2e") + "/" + tag + ".input_ids.npy");
    const std::vector<Tensor> images{
        read_npy(test::golden("tiny/encoder/" + image.substr(0, image.find('.')) + ".projected.npy"))};
    out.push_back({tag, splice_image_features(w.embed_tokens, ids, images, cfg.tokenizer_model_max_length)});
  }
  // Every golden prompt is under 48 tokens, where Q8_0/Q4_0 weights keep the int8 kernels in both
  // modes; each e2e prompt after the first text prompt (a two-turn context, 66-71 tokens) reaches
  // the bf16 matmuls for them too.
  const size_t n_single = out.size(), first_e2e = text["cases"].size();
  for (size_t i = first_e2e; i < n_single; ++i) {
    const Tensor& a = out[0].embeds;
    const Tensor& b = out[i].embeds;
    Tensor both = Tensor::zeros(DType::F32, {a.dim(0) + b.dim(0), a.dim(1)});
    std::copy(a.f32(), a.f32() + a.numel(), both.f32());
    std::copy(b.f32(), b.f32() + b.numel(), both.f32() + a.numel());
    out.push_back({out[0].tag + "+" + out[i].tag, std::move(both)});
  }
  // A three-turn context (over 96 tokens): the bf16 prefill's attention runs on matmuls
  // (decoder/attention_bf16.h) from there.
  if (n_single >= first_e2e + 2) {
    const Tensor* parts[] = {&out[0].embeds, &out[first_e2e].embeds, &out[first_e2e + 1].embeds};
    int64_t rows = 0;
    for (const Tensor* t : parts) rows += t->dim(0);
    Tensor all = Tensor::zeros(DType::F32, {rows, out[0].embeds.dim(1)});
    float* at = all.f32();
    for (const Tensor* t : parts) at = std::copy(t->f32(), t->f32() + t->numel(), at);
    out.push_back({out[0].tag + "+" + out[first_e2e].tag + "+" + out[first_e2e + 1].tag, std::move(all)});
  }
  return out;
}

int argmax(std::span<const float> v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

// top-1 minus top-2 logit
double margin(const std::vector<float>& v) {
  float top1 = -INFINITY, top2 = -INFINITY;
  for (float x : v) {
    if (x > top1) {
      top2 = top1;
      top1 = x;
    } else if (x > top2) {
      top2 = x;
    }
  }
  return double(top1) - double(top2);
}

// Every golden prompt through an FP32 and a bf16 session on the same weights.
void check_bf16_prefill(const ModelConfig& cfg, const TensorMap& tensors, const std::string& what) {
  const Qwen2Weights w = bind_qwen2(cfg.llm, tensors);
  const DType wt = w.layers[0].q_proj.dtype();
  const bool quantised = wt == DType::Q8_0 || wt == DType::Q4_0;
  const PrefillMatmul bf16;
  const std::vector<Prompt> prompts = golden_prompts(w, cfg);
  REQUIRE(prompts.size() >= 9);
  for (const Prompt& p : prompts) {
    CAPTURE(what);
    CAPTURE(p.tag);
    const int T = int(p.embeds.dim(0));
    Qwen2Session ref(w, cfg.llm, {T, 0});
    Qwen2Session low(w, cfg.llm, {T, 0}, &bf16);
    const std::span<const float> a = ref.prefill(p.embeds.f32(), T);
    const std::vector<float> f32(a.begin(), a.end());
    const int64_t calls = bf16.calls();
    const std::span<const float> b = low.prefill(p.embeds.f32(), T);
    REQUIRE(b.size() == f32.size());
    const test::Diff d = test::compare(b.data(), f32.data(), long(f32.size()));
    MESSAGE(fmt::format(
        "{} {} ({} tokens): last-position logits cosine {:.7f}, max|diff| {:.4f} (max|ref| {:.2f})", what,
        p.tag, T, d.cosine, d.max_abs, d.max_ref));
    if (quantised && T < kDequantGemmMinRows) {  // int8 kernels in both modes (linear.h)
      CHECK(bf16.calls() == calls);
      CHECK(d.max_abs == 0.0);
      continue;
    }
    CHECK(bf16.calls() > calls);  // the bf16 matmuls ran (7 per layer) ...
    CHECK(d.max_abs > 0.0);       // ... and changed the result: no silent FP32 fallback
    CHECK(d.cosine >= 0.9995);
    // The golden prompts (issue 12's bar) must keep their first token. The two-turn prompts are ours,
    // with no margin guarantee: there the first token is compared where FP32's top-1 leads its
    // top-2 by more than twice the logit error (below that, agreement is luck; test_quant_accuracy's
    // rule), and the margin is printed.
    const double m = margin(f32);
    const bool golden = p.tag.find('+') == std::string::npos;
    MESSAGE(fmt::format("  first token {} vs {}; FP32 margin {:.3f}{}", argmax(b), argmax(f32), m,
                        golden || m > 2 * d.max_abs ? "" : " (not compared: under twice the error)"));
    if (golden || m > 2 * d.max_abs) CHECK(argmax(b) == argmax(f32));
  }
}

// The golden checkpoint converted to `type` (f32, f16, q8_0, q4_0) in a directory named after `tag`.
ModelSource converted_source(const std::string& tag, const std::string& type) {
  ConvertOptions o;
  o.src = test::golden("tiny/model");
  o.out_dir = test::temp_path(tag + "_" + type);
  o.type = parse_convert_type(type);
  convert_model(o);
  return open_model_source(o.out_dir);
}

bool skip_without_bf16() {
  if (bf16_support() != Bf16Support::kNone) return false;
  MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU or under FVLM_MAX_ISA (needs AVX-512)");
  return true;
}

}  // namespace

TEST_CASE("llm bf16 prefill vs FP32: golden text and e2e prompts, BF16 checkpoint (weights used in place)") {
  if (skip_without_bf16()) return;
  MESSAGE("bf16 in oneDNN: ", bf16_support_name(bf16_support()));
  const ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  check_bf16_prefill(cfg, read_safetensors_dir(test::golden("tiny/model")), "bf16 checkpoint");
}

TEST_CASE("llm bf16 prefill vs FP32: F32, F16, Q8_0 and Q4_0 conversions (each converted to bf16 panels)") {
  if (skip_without_bf16()) return;
  for (const std::string type : {"f32", "f16", "q8_0", "q4_0"}) {
    const ModelSource src = converted_source("llm_bf16", type);
    check_bf16_prefill(src.config, src.tensors, type);
  }
}

TEST_CASE(
    "llm int8 prefill on packed Q8_0 / Q4_0 weights vs FP32 on the same values: golden and two-turn "
    "prompts") {
  for (const std::string type : {"q8_0", "q4_0"}) {
    const ModelSource src = converted_source("llm_packed", type);
    TensorMap widened = src.tensors;  // the reference: every quantised matrix dequantised to F32
    for (auto& [name, t] : widened)
      if (quant::is_block_quantized(t.dtype())) t = quant::dequantize(t);
    const Qwen2Weights ref_w = bind_qwen2(src.config.llm, widened);
    Qwen2Weights packed_w = bind_qwen2(src.config.llm, src.tensors);
    const WeightPlacement placed = place_weights(packed_w, WeightPages::kHuge);
    REQUIRE(placed.packed > 0);
    REQUIRE(quant::is_packed(packed_w.layers[0].gate_proj.dtype()));
    for (const Prompt& p : golden_prompts(ref_w, src.config)) {
      CAPTURE(type);
      CAPTURE(p.tag);
      const int T = int(p.embeds.dim(0));
      Qwen2Session ref(ref_w, src.config.llm, {T, 0});
      Qwen2Session low(packed_w, src.config.llm, {T, 0});
      const std::span<const float> a = ref.prefill(p.embeds.f32(), T);
      const std::vector<float> f32(a.begin(), a.end());
      const std::span<const float> b = low.prefill(p.embeds.f32(), T);
      REQUIRE(b.size() == f32.size());
      const test::Diff d = test::compare(b.data(), f32.data(), long(f32.size()));
      const double m = margin(f32);
      MESSAGE(
          fmt::format("packed {} {} ({} tokens): last-position logits cosine {:.7f}, max|diff| {:.4f}; first "
                      "token {} vs {}, FP32 margin {:.3f}",
                      type, p.tag, T, d.cosine, d.max_abs, argmax(b), argmax(f32), m));
      CHECK(d.max_abs > 0.0);  // int8 activations: never the FP32 result by accident
      CHECK(d.cosine >= 0.9995);
      if (p.tag.find('+') == std::string::npos || m > 2 * d.max_abs) CHECK(argmax(b) == argmax(f32));
    }
  }
}

// --llm-precision int8 (LlmPrecision::kInt8) as Qwen2Model sets it up: s8 matmuls on copies packed at
// the first sighting, the attention (and shorter prompts' matmuls) in bf16 where that is native.
// Prompts under kInt8MinRows tokens take the usual path: sgemm (FP32's own) or bf16 for BF16/F32
// weights, the int8 kernels (the same in both sessions) for Q8_0/Q4_0.
void check_int8_prefill(const ModelConfig& cfg, const Qwen2Weights& ref_w, const Qwen2Weights& w,
                        const std::string& what) {
  const bool quantised = quant::is_block_quantized(w.layers[0].q_proj.dtype());
  const PrefillMatmul int8(int64_t(1) << 40, MatmulOperands::kS8);
  const PrefillMatmul bf16;
  const PrefillMatmul* attention = bf16_is_native(bf16_support()) ? &bf16 : nullptr;
  int checked = 0;
  for (const Prompt& p : golden_prompts(w, cfg)) {
    CAPTURE(what);
    CAPTURE(p.tag);
    const int T = int(p.embeds.dim(0));
    Qwen2Session ref(ref_w, cfg.llm, {T, 0});
    Qwen2Session low(w, cfg.llm, {T, 0}, attention, &int8);
    const std::span<const float> a = ref.prefill(p.embeds.f32(), T);
    const std::vector<float> f32(a.begin(), a.end());
    const int64_t calls = int8.calls();
    const std::span<const float> b = low.prefill(p.embeds.f32(), T);
    const test::Diff d = test::compare(b.data(), f32.data(), long(f32.size()));
    if (T < kInt8MinRows) {  // no s8 matmul; bf16 ones for BF16/F32 weights where bf16 is native
      CHECK(int8.calls() == calls);
      if ((attention == nullptr || quantised) && &ref_w == &w) CHECK(d.max_abs == 0.0);
      CHECK(d.cosine >= 0.9995);
      continue;
    }
    const double m = margin(f32);
    MESSAGE(
        fmt::format("int8 {} {} ({} tokens): last-position logits cosine {:.7f}, max|diff| {:.4f}; first "
                    "token {} vs {}, FP32 margin {:.3f}",
                    what, p.tag, T, d.cosine, d.max_abs, argmax(b), argmax(f32), m));
    CHECK(int8.calls() >= calls + 7 * cfg.llm.num_hidden_layers);  // every projection of every layer
    CHECK(d.max_abs > 0.0);
    CHECK(d.cosine >= 0.9995);
    if (m > 2 * d.max_abs) CHECK(argmax(b) == argmax(f32));
    ++checked;
  }
  CHECK(checked >= 3);  // the two- and three-turn prompts
  CHECK(int8.packed_bytes() > 0);
}

// The bf16 prefill on copies packed once into oneDNN's layout (PrefillMatmul's budget: what AMX machines
// run): a matrix is packed the second time it is seen, so each prompt runs twice on one model, the
// first time through the unpacked path. Both runs against FP32 with the same bar, and against each
// other (the same bf16 products in another layout). `ref_w`: the same values for the FP32 reference.
void check_packed_prefill(const ModelConfig& cfg, const Qwen2Weights& ref_w, const Qwen2Weights& w,
                          const std::string& what) {
  const PrefillMatmul bf16(int64_t(1) << 40);
  int checked = 0;
  for (const Prompt& p : golden_prompts(w, cfg)) {
    const int T = int(p.embeds.dim(0));
    if (T < kBf16PackedMinRows) continue;  // the int8 / unpacked paths: the tests above
    CAPTURE(what);
    CAPTURE(p.tag);
    Qwen2Session ref(ref_w, cfg.llm, {T, 0});
    const std::span<const float> a = ref.prefill(p.embeds.f32(), T);
    const std::vector<float> f32(a.begin(), a.end());
    std::vector<float> runs[2];
    for (std::vector<float>& r : runs) {
      Qwen2Session low(w, cfg.llm, {T, 0}, &bf16);
      const std::span<const float> b = low.prefill(p.embeds.f32(), T);
      r.assign(b.begin(), b.end());
      if (checked == 0 && &r == &runs[0]) CHECK(bf16.packed_bytes() == 0);  // first sighting: nothing packed
    }
    CHECK(bf16.packed_bytes() > 0);
    for (const std::vector<float>& r : runs) {
      const test::Diff d = test::compare(r.data(), f32.data(), long(f32.size()));
      MESSAGE(fmt::format("{} {} ({} tokens): logits cosine vs FP32 {:.7f}, max|diff| {:.4f}", what, p.tag, T,
                          d.cosine, d.max_abs));
      CHECK(d.max_abs > 0.0);
      CHECK(d.cosine >= 0.9995);
      if (margin(f32) > 2 * d.max_abs) CHECK(argmax(r) == argmax(f32));
    }
    const test::Diff same = test::compare(runs[1].data(), runs[0].data(), long(f32.size()));
    MESSAGE(fmt::format("  packed vs unpacked: cosine {:.8f}", same.cosine));
    CHECK(same.cosine >= (quant::is_packed(w.layers[0].q_proj.dtype()) ? 0.9995 : 0.99999));
    ++checked;
  }
  CHECK(checked >= 2);  // the two-turn prompts
  CHECK(bf16.packed_bytes() > 0);
}

TEST_CASE("llm bf16 prefill on packed bf16 copies (AMX's path) vs FP32: BF16, Q8_0, packed Q8_0 / Q4_0") {
  if (skip_without_bf16()) return;
  const ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  const Qwen2Weights bf16_w = bind_qwen2(cfg.llm, read_safetensors_dir(test::golden("tiny/model")));
  check_packed_prefill(cfg, bf16_w, bf16_w, "bf16 checkpoint");
  const ModelSource q8 = converted_source("llm_bf16_pack", "q8_0");
  const Qwen2Weights q8_w = bind_qwen2(q8.config.llm, q8.tensors);
  check_packed_prefill(q8.config, q8_w, q8_w, "q8_0");
  for (const std::string type : {"q8_0", "q4_0"}) {  // int8 kernels the first time, bf16 copies the second
    const ModelSource src = converted_source("llm_bf16_pack_r16", type);
    TensorMap widened = src.tensors;  // the reference: every quantised matrix dequantised to F32
    for (auto& [name, t] : widened)
      if (quant::is_block_quantized(t.dtype())) t = quant::dequantize(t);
    Qwen2Weights w = bind_qwen2(src.config.llm, src.tensors);
    REQUIRE(place_weights(w, WeightPages::kHuge).packed > 0);
    check_packed_prefill(src.config, bind_qwen2(src.config.llm, widened), w, "packed " + type);
  }
}

TEST_CASE(
    "llm int8 prefill vs FP32: multi-turn golden prompts, BF16 checkpoint and Q8_0 / Q4_0 conversions") {
  if (!onednn_has_vnni()) {
    MESSAGE("SKIPPED: oneDNN has no int8 dot products here (", onednn_isa_name(), "): no int8 prefill");
    return;
  }
  const ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  const Qwen2Weights bf16_w = bind_qwen2(cfg.llm, read_safetensors_dir(test::golden("tiny/model")));
  check_int8_prefill(cfg, bf16_w, bf16_w, "bf16 checkpoint");
  for (const std::string type : {"q8_0", "q4_0"}) {
    const ModelSource src = converted_source("llm_int8", type);
    const Qwen2Weights plain = bind_qwen2(src.config.llm, src.tensors);
    check_int8_prefill(src.config, plain, plain, type);
    // as --weight-pages huge loads them (interleaved for the int8 kernels), requantised from there;
    // the reference: the same values widened to F32
    TensorMap widened = src.tensors;
    for (auto& [name, t] : widened)
      if (quant::is_block_quantized(t.dtype())) t = quant::dequantize(t);
    Qwen2Weights w = bind_qwen2(src.config.llm, src.tensors);
    REQUIRE(place_weights(w, WeightPages::kHuge).packed > 0);
    check_int8_prefill(src.config, bind_qwen2(src.config.llm, widened), w, "packed " + type);
  }
}

// A trained LLM's outlier channels, imitated: three channels of every norm weight scaled x20, so
// every projection's input carries three columns ~20 times its other values. With one s8 scale per
// token and nothing else, the multi-turn prompts fell to cosine 0.9944-0.9997 (4 of 5 under the
// bar); with the outlier columns in f32 (decoder/int8_outliers.h) 0.99982-0.99997. (x50: 0.9984-0.9994
// without, 0.99972-0.99987 with; there the bf16 path of the short prompts, which this check also
// runs, falls to 0.9988 on one of them.)
TEST_CASE("llm int8 prefill with outlier channels (norm weights x20 in three channels) vs FP32") {
  if (!onednn_has_vnni()) {
    MESSAGE("SKIPPED: oneDNN has no int8 dot products here (", onednn_isa_name(), "): no int8 prefill");
    return;
  }
  const ModelConfig cfg = load_model_config(test::golden("tiny/model/config.json"));
  TensorMap tensors = read_safetensors_dir(test::golden("tiny/model"));
  const int channels[] = {3, 17, 42};
  int scaled = 0;
  for (auto& [name, t] : tensors) {
    if (name.find("layernorm.weight") == std::string::npos) continue;
    Tensor f = to_f32(t);
    for (int c : channels) f.f32()[c] *= 20.0f;
    t = std::move(f);
    ++scaled;
  }
  REQUIRE(scaled == 2 * cfg.llm.num_hidden_layers);
  const Qwen2Weights w = bind_qwen2(cfg.llm, tensors);
  check_int8_prefill(cfg, w, w, "outlier channels");
}

TEST_CASE("llm bf16 packing: the second sighting packs, a budget too small packs nothing, auto only on AMX") {
  if (skip_without_bf16()) return;
  Tensor m = Tensor::zeros(DType::F32, {64, 96});
  for (int64_t i = 0; i < m.numel(); ++i) m.f32()[i] = float(i % 17) - 8.0f;
  const PrefillMatmul none, small(1000), enough(int64_t(1) << 20);
  CHECK_FALSE(none.packs());
  CHECK(none.packed(m) == nullptr);
  CHECK(small.packed(m) == nullptr);
  CHECK(small.packed(m) == nullptr);  // 64 x 96 bf16 = 12 KB > 1000 bytes
  CHECK(small.packed_bytes() == 0);
  CHECK(enough.packed(m) == nullptr);  // first sighting
  const PackedWeights* p = enough.packed(m);
  REQUIRE(p != nullptr);
  CHECK(p->n == 64);
  CHECK(p->k == 96);
  CHECK(enough.packed(m) == p);
  CHECK(enough.packed_bytes() >= 64 * 96 * 2);
  CHECK(llm_pack_budget(LlmPack::kOff, LlmPrecision::kBf16, 1000) == 0);
  CHECK(llm_pack_budget(LlmPack::kOn, LlmPrecision::kF32, 1000) == 0);
  CHECK(llm_pack_budget(LlmPack::kOn, LlmPrecision::kBf16, 1600) == 1700);
  if (bf16_support() != Bf16Support::kAmx && !std::getenv("FVLM_LLM_PACK"))
    CHECK(llm_pack_budget(LlmPack::kAuto, LlmPrecision::kBf16, 1000) == 0);
  // Weights the AMX int8 kernels run get no bf16 copy, unless asked for.
  if (!std::getenv("FVLM_LLM_PACK"))
    CHECK(llm_pack_budget(LlmPack::kAuto, LlmPrecision::kBf16, 1000, true) == 0);
  CHECK(llm_pack_budget(LlmPack::kOn, LlmPrecision::kBf16, 1600, true) == 1700);
  CHECK_THROWS_AS(parse_llm_pack("sometimes"), Error);
}

TEST_CASE("llm precision: auto resolves to bf16 exactly where oneDNN bf16 is native, bad names refused") {
  const bool native = bf16_is_native(bf16_support());
  CHECK(resolve_llm_precision(LlmPrecision::kAuto) == (native ? LlmPrecision::kBf16 : LlmPrecision::kF32));
  CHECK(resolve_llm_precision(LlmPrecision::kF32) == LlmPrecision::kF32);
  CHECK(parse_llm_precision("bf16") == LlmPrecision::kBf16);
  CHECK(parse_llm_precision("int8") == LlmPrecision::kInt8);
  CHECK(resolve_llm_precision(LlmPrecision::kInt8) == LlmPrecision::kInt8);  // never picked by auto
  CHECK_THROWS_AS(parse_llm_precision("int4"), Error);
  if (bf16_support() == Bf16Support::kNone)
    CHECK_THROWS_AS(choose_llm_precision(LlmPrecision::kBf16), Error);
  else
    CHECK(choose_llm_precision(LlmPrecision::kBf16) == LlmPrecision::kBf16);
}
