// Accuracy of the converted (GGUF) models against this project's FP32 path on the HF checkpoint,
// over every golden e2e case: F32 conversion identical; Q8_0 logit cosine >= 0.999 and the 12
// greedy ids identical; Q4_0 cosine >= 0.99 and the same first token; F16/BF16 vision features
// cosine >= 0.9999. Greedy ids are compared on the steps whose FP32 margin exceeds twice the logit
// error (below that, agreement is luck: Q8_0 itself flips e2e_wide_q1's first step, margin 0.25).
// Q4_0's first token must moreover equal FP32's wherever Q8_0's does: its logit error (max 6 on
// this 2-layer toy) exceeds every first-step margin, so the margin rule alone would test nothing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/image.h"
#include "core/runtime.h"
#include "encoder/vision_backend.h"
#include "models/convert.h"
#include "models/image_views.h"
#include "models/model_source.h"
#include "models/pipeline.h"
#include "tests/test_util.h"

using namespace fvlm;

namespace {

struct Case {
  std::string tag, image, question;
  std::vector<double> margins;  // FP32 top1 - top2 logit at each greedy step (cases.json)
};

std::vector<Case> golden_cases() {
  std::vector<Case> out;
  for (const auto& c : test::golden_e2e_cases())
    out.push_back({c["tag"], c["image"], c["question"], c["greedy_margins"].get<std::vector<double>>()});
  return out;
}

std::string converted(const std::string& type) {
  const std::string dir = test::temp_path("acc_" + type);
  ConvertOptions o;
  o.src = test::golden("tiny/model");
  o.out_dir = dir;
  o.type = parse_convert_type(type);
  convert_model(o);
  return dir;
}

struct QuantRun {
  std::vector<int32_t> ids;
  std::vector<float> logits;
};

std::map<std::string, QuantRun> run_all(const std::string& model) {
  std::unique_ptr<Pipeline> p = Pipeline::load(model, {});
  GenerateOptions gen;
  gen.max_tokens = 12;
  gen.ignore_eos = true;
  std::map<std::string, QuantRun> out;
  for (const Case& c : golden_cases()) {
    const fvlm::GenerateResult r =
        p->generate(load_image(test::golden("images/" + c.image)), c.question, gen, {}, {}, true);
    out[c.tag] = {r.token_ids, r.last_prompt_logits};
  }
  return out;
}

}  // namespace

// Greedy agreement is required where it can be expected (golden/README.md): on every step up to
// the first whose FP32 margin is not above twice the measured logit error of this model.
TEST_CASE("quantised models vs the FP32 path: logits cosine, greedy ids") {
  const auto fp32 = run_all(test::golden("tiny/model"));
  REQUIRE(fp32.size() >= 4);
  std::map<std::string, std::vector<double>> margins;
  for (const Case& c : golden_cases()) margins[c.tag] = c.margins;
  struct Limits {
    std::string type;
    double min_cosine;
  };
  // q4_0 is the mixed file of models/convert.h (attention projections, ffn_down and the tied output
  // matrix at Q8_0): 0.9962-0.9968 here; every matrix at Q4_0 but the output gave 0.9826-0.9854.
  std::map<std::string, QuantRun> q8;
  for (const Limits& lim : {Limits{"f16", 0.9999}, Limits{"q8_0", 0.999}, Limits{"q4_0", 0.99}}) {
    const auto q = run_all(converted(lim.type));
    if (lim.type == "q8_0") q8 = q;
    for (const auto& [tag, ref] : fp32) {
      CAPTURE(lim.type);
      CAPTURE(tag);
      const QuantRun& r = q.at(tag);
      REQUIRE(r.logits.size() == ref.logits.size());
      const test::Diff d = test::compare(r.logits.data(), ref.logits.data(), long(ref.logits.size()));
      int steps = 0;
      while (steps < int(ref.ids.size()) && margins[tag][size_t(steps)] > 2 * d.max_abs) ++steps;
      MESSAGE(lim.type << " " << tag << ": logit cosine " << d.cosine << ", max|diff| " << d.max_abs
                       << "; greedy ids compared over " << steps << " steps");
      CHECK(d.cosine >= lim.min_cosine);
      REQUIRE(r.ids.size() == ref.ids.size());
      for (int i = 0; i < steps; ++i) CHECK(r.ids[size_t(i)] == ref.ids[size_t(i)]);
      if (lim.type == "q4_0" && q8.at(tag).ids[0] == ref.ids[0]) CHECK(r.ids[0] == ref.ids[0]);
    }
  }
}

TEST_CASE("converted F32 model: same greedy ids, logits equal up to summation order") {
  const auto hf = run_all(test::golden("tiny/model"));
  const auto f32 = run_all(converted("f32"));
  for (const auto& [tag, ref] : hf) {
    CAPTURE(tag);
    const test::Diff d = test::compare(f32.at(tag).logits.data(), ref.logits.data(), long(ref.logits.size()));
    // Vision is bit-identical (next test case); the LLM runs F32-weight instead of BF16-weight
    // kernels, which sum in another order: ~1e-5 on logits of ~10.
    CHECK(d.max_abs <= 1e-4);
    CHECK(f32.at(tag).ids == ref.ids);
  }
}

TEST_CASE("F16/BF16 vision encoder features vs FP32: cosine >= 0.9999 - F32 conversion bit-identical") {
  Runtime rt;
  const ModelSource hf = open_model_source(test::golden("tiny/model"));
  enc::CpuVisionBackend ref(rt, vision_config(hf.config), hf.tensors);
  {
    const ModelSource gg = open_model_source(converted("f32"));
    enc::CpuVisionBackend f32(rt, vision_config(gg.config), gg.tensors);
    const ImageViews v = make_image_views(load_image(test::golden("images/wide.png")), {}, &hf.config);
    CHECK(test::compare(f32.project(f32.encode(v.pixels)), ref.project(ref.encode(v.pixels))).max_abs == 0.0);
  }
  for (const std::string type : {"f16", "bf16"}) {
    const ModelSource gg = open_model_source(converted(type));
    enc::CpuVisionBackend half(rt, vision_config(gg.config), gg.tensors);
    for (const std::string img : {"square.jpg", "wide.png", "tall.png"}) {
      const ImageViews v = make_image_views(load_image(test::golden("images/" + img)), {}, &hf.config);
      const test::Diff d = test::compare(half.encode(v.pixels), ref.encode(v.pixels));
      MESSAGE(type << " " << img << ": feature cosine " << d.cosine << ", max|diff| " << d.max_abs);
      CHECK(d.cosine >= 0.9999);
    }
  }
}
