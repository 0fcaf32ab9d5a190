// The Qwen2 decoder against the golden tiny model (llama.cpp, F32 compute from the BF16 weights):
// text prompts (logits, top-20 at every position, greedy continuations) and the multimodal splice
// (inputs_embeds from prompt ids with -200 and the golden projector outputs).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "core/npy.h"
#include "core/safetensors.h"
#include "decoder/generate.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/splice.h"
#include "models/config.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {
constexpr double kLogitTol = 2e-3;          // manifest tolerances.llm.logits (absolute)
constexpr int kGreedySteps = 12;            // golden greedy length (no EOS stop)
constexpr int64_t kTokenizerSize = 151646;  // len(tokenizer) of the Qwen2 vocabulary the goldens use

struct GoldenModel {
  ModelConfig cfg;
  TensorMap tensors;
  Qwen2Weights w;
};

const GoldenModel& golden_model() {
  static const GoldenModel m = [] {
    GoldenModel g;
    g.cfg = load_model_config(test::golden("tiny/model/config.json"));
    g.tensors = read_safetensors_dir(test::golden("tiny/model"));
    g.w = bind_qwen2(g.cfg.llm, g.tensors);
    return g;
  }();
  return m;
}

// Top-20 against the golden: same top-1 id; at every rank our value equals the golden value, and
// our logit of the golden id equals it too (so ids may only swap where values differ by < tol).
void check_topk(const float* logits, int64_t V, const int32_t* ref_ids, const float* ref_vals, int k,
                const std::string& where) {
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  CAPTURE(where);
  CHECK(idx[0] == ref_ids[0]);
  for (int r = 0; r < k; ++r) {
    CAPTURE(r);
    CHECK(std::fabs(logits[idx[size_t(r)]] - ref_vals[r]) < kLogitTol);
    CHECK(std::fabs(logits[ref_ids[r]] - ref_vals[r]) < kLogitTol);
  }
}

// Greedy continuation from a session that holds the prompt: 12 argmax ids, each step's top-20.
void check_greedy(Qwen2Session& s, std::span<const float> first_logits, const std::string& prefix) {
  const std::vector<int32_t> ref = test::read_ids(prefix + ".greedy_ids.npy");
  const Tensor ref_ids = read_npy(prefix + ".greedy_step_topk_ids.npy");
  const Tensor ref_vals = read_npy(prefix + ".greedy_step_topk_logits.npy");
  const int k = int(ref_ids.dim(1));
  std::span<const float> logits = first_logits;
  std::vector<int32_t> got;
  for (int step = 0; step < kGreedySteps; ++step) {
    check_topk(logits.data(), int64_t(logits.size()), static_cast<const int32_t*>(ref_ids.data()) + step * k,
               ref_vals.f32() + step * k, k, fmt::format("{} greedy step {}", prefix, step));
    const int32_t id = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    got.push_back(id);
    if (step + 1 < kGreedySteps) logits = s.decode_step(id);
  }
  CHECK(got == ref);
}

// The same continuation through generate() with only the valid vocabulary computed.
void check_generate(const Tensor& embeds, const std::vector<int32_t>& ref) {
  const GoldenModel& g = golden_model();
  Qwen2Session s(g.w, g.cfg.llm, {int(embeds.dim(0)) + kGreedySteps, kTokenizerSize});
  Sampler greedy({});
  const dec::GenerateResult r = generate(s, embeds.f32(), int(embeds.dim(0)), greedy,
                                         {{151645, 151643}, /*ignore_eos=*/true, kGreedySteps});
  CHECK(r.ids == ref);
  CHECK(r.reason == StopReason::kMaxTokens);
}
}  // namespace

TEST_CASE("llm golden: text prompts (logits, top-20 at every position, greedy)") {
  const GoldenModel& g = golden_model();
  const nlohmann::json cases = test::golden_json("tiny/llm/text_cases.json")["cases"];
  REQUIRE(cases.size() >= 1);
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string prefix = test::golden("tiny/llm") + fmt::format("/text{}", k);
    const std::vector<int32_t> ids = test::read_ids(prefix + ".input_ids.npy");
    CHECK(ids == cases[k]["input_ids"].get<std::vector<int32_t>>());
    const int L = int(ids.size());
    Qwen2Session s(g.w, g.cfg.llm, {L + kGreedySteps, 0});
    Tensor embeds = Tensor::zeros(DType::F32, {L, g.cfg.llm.hidden_size});
    s.embed(ids, embeds.f32());
    const Tensor all = s.prefill_all_logits(embeds.f32(), L);
    const int64_t V = all.dim(1);
    REQUIRE(V == g.cfg.llm.vocab_size);

    const Tensor ref_last = read_npy(prefix + ".logits_last.npy");
    const test::Diff d = test::compare(all.f32() + (L - 1) * V, ref_last.f32(), long(V));
    MESSAGE(fmt::format("text{}: last-position logits max|diff| {:.3g} (max|ref| {:.3g})", k, d.max_abs,
                        d.max_ref));
    CHECK(d.max_abs <= kLogitTol);

    const Tensor ref_ids = read_npy(prefix + ".topk_ids.npy");
    const Tensor ref_vals = read_npy(prefix + ".topk_logits.npy");
    REQUIRE(ref_ids.dim(0) == L);
    const int topk = int(ref_ids.dim(1));
    for (int t = 0; t < L; ++t)
      check_topk(all.f32() + t * V, V, static_cast<const int32_t*>(ref_ids.data()) + t * topk,
                 ref_vals.f32() + t * topk, topk, fmt::format("text{} position {}", k, t));

    check_greedy(s, {all.f32() + (L - 1) * V, size_t(V)}, prefix);
    check_generate(embeds, test::read_ids(prefix + ".greedy_ids.npy"));
  }
}

TEST_CASE("llm golden: multimodal splice, logits and greedy ids (projector outputs from the golden)") {
  const GoldenModel& g = golden_model();
  const nlohmann::json cases = test::golden_e2e_cases();
  REQUIRE(cases.size() >= 1);
  for (const auto& c : cases) {
    const std::string tag = c["tag"];
    const std::string base = test::golden("tiny/e2e") + "/" + tag;
    const std::string image = c["image"];
    const std::vector<int32_t> ids = test::read_ids(base + ".input_ids.npy");
    CHECK(ids == c["input_ids"].get<std::vector<int32_t>>());
    const std::vector<Tensor> images{
        read_npy(test::golden("tiny/encoder/" + image.substr(0, image.find('.')) + ".projected.npy"))};

    const Tensor embeds =
        splice_image_features(g.w.embed_tokens, ids, images, g.cfg.tokenizer_model_max_length);
    CHECK(embeds.dim(0) == c["spliced_length"].get<int64_t>());
    const Tensor ref_embeds = read_npy(base + ".inputs_embeds.npy");
    REQUIRE(ref_embeds.numel() == embeds.numel());
    CHECK(test::compare(embeds, ref_embeds).max_abs == 0.0);  // embedding rows and projector rows, exactly

    const int L = int(embeds.dim(0));
    Qwen2Session s(g.w, g.cfg.llm, {L + kGreedySteps, 0});
    const std::span<const float> last = s.prefill(ref_embeds.f32(), L);
    const Tensor ref_last = read_npy(base + ".logits_last.npy");
    REQUIRE(int64_t(last.size()) == ref_last.numel());
    const test::Diff d = test::compare(last.data(), ref_last.f32(), long(last.size()));
    MESSAGE(fmt::format("{}: last-position logits max|diff| {:.3g}", tag, d.max_abs));
    CHECK(d.max_abs <= kLogitTol);
    check_greedy(s, last, base);
    CHECK(test::read_ids(base + ".greedy_ids.npy") == c["greedy_ids"].get<std::vector<int32_t>>());
    check_generate(embeds, c["greedy_ids"].get<std::vector<int32_t>>());
  }
}
