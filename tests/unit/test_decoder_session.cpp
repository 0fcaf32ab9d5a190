// Decoder session, splice and sampler behaviour on small random models (no golden data needed).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "decoder/generate.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/sampler.h"
#include "decoder/splice.h"
#include "models/random_weights.h"
#include "models/tensor_table.h"

using namespace fvlm;
using namespace fvlm::dec;

namespace {
ModelConfig small_config() {
  ModelConfig c = released_config(ReleasedModel::k0_5B);
  c.llm.hidden_size = 96;
  c.llm.num_attention_heads = 6;  // head_dim 16
  c.llm.num_key_value_heads = 2;  // GQA groups of 3
  c.llm.intermediate_size = 136;
  c.llm.num_hidden_layers = 3;
  c.llm.vocab_size = 1000;
  return c;
}

struct SmallModel {
  ModelConfig cfg = small_config();
  TensorMap tensors = random_weights(llm_tensor_table(cfg), 99, DType::BF16);
  Qwen2Weights w = bind_qwen2(cfg.llm, tensors);
};

const SmallModel& small_model() {
  static const SmallModel m;
  return m;
}

std::vector<float> embed(const Qwen2Session& s, const std::vector<int32_t>& ids) {
  std::vector<float> e(ids.size() * size_t(s.hidden_size()));
  s.embed(ids, e.data());
  return e;
}
}  // namespace

TEST_CASE("kv cache: prefill of T == prefill of T-1 then one decode step (and 2 + 1 + rest)") {
  const SmallModel& m = small_model();
  const std::vector<int32_t> ids{5, 17, 999, 3, 250, 42, 7, 7, 81, 600, 12};
  const int T = int(ids.size());
  Qwen2Session full(m.w, m.cfg.llm, {T, 0});
  const std::vector<float> e = embed(full, ids);
  const std::span<const float> ref_span = full.prefill(e.data(), T);
  const std::vector<float> ref(ref_span.begin(), ref_span.end());
  CHECK(full.n_past() == T);
  CHECK(int64_t(ref.size()) == m.cfg.llm.vocab_size);

  Qwen2Session split(m.w, m.cfg.llm, {T, 0});
  split.prefill(e.data(), T - 1);                                    // GEMM path
  const std::span<const float> got = split.decode_step(ids.back());  // GEMV path, one new position
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - ref[i])));
  CHECK(worst <= 1e-4);

  // Chunked: 2 tokens (GEMV rows), 1 token, then the rest; reset() reuses the cache.
  split.reset();
  split.prefill(e.data(), 2);
  split.decode_step(ids[2]);
  const std::span<const float> got2 = split.prefill(e.data() + 3 * m.cfg.llm.hidden_size, T - 3);
  worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(got2[i] - ref[i])));
  CHECK(worst <= 1e-4);
  CHECK_THROWS_AS(split.decode_step(1), Error);  // the cache is full
}

TEST_CASE("session: logits only for the valid rows - all-position logits end with the last") {
  const SmallModel& m = small_model();
  const std::vector<int32_t> ids{1, 2, 3, 4, 5, 6};
  Qwen2Session s(m.w, m.cfg.llm, {8, 900});
  const std::vector<float> e = embed(s, ids);
  const Tensor all = s.prefill_all_logits(e.data(), 6);
  CHECK(all.dim(0) == 6);
  CHECK(all.dim(1) == 900);
  Qwen2Session s2(m.w, m.cfg.llm, {8, 900});
  const std::span<const float> last = s2.prefill(e.data(), 6);
  REQUIRE(last.size() == 900);
  for (size_t i = 0; i < 900; ++i)
    CHECK(std::fabs(last[i] - all.f32()[5 * 900 + int64_t(i)]) < 1e-5);  // GEMV vs GEMM
  CHECK_THROWS_AS(Qwen2Session(m.w, m.cfg.llm, {8, 1001}), Error);
  std::vector<float> out(96);
  CHECK_THROWS_AS(s.embed(std::vector<int32_t>{1000}, out.data()), Error);
  CHECK_THROWS_AS(s.embed(std::vector<int32_t>{-200}, out.data()), Error);
}

TEST_CASE("bind: missing and misshapen LLM tensors are one bad_model error") {
  const SmallModel& m = small_model();
  TensorMap t = m.tensors;
  t.erase("model.layers.1.mlp.up_proj.weight");
  try {
    bind_qwen2(m.cfg.llm, t);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::kBadModel);
  }
  // lm_head present: used instead of the tied embeddings.
  t = m.tensors;
  t["lm_head.weight"] = t.at("model.layers.0.mlp.gate_proj.weight");  // wrong shape
  CHECK_THROWS_AS(bind_qwen2(m.cfg.llm, t), Error);
  t["lm_head.weight"] = m.tensors.at("model.embed_tokens.weight");
  CHECK(bind_qwen2(m.cfg.llm, t).lm_head.data() == m.tensors.at("model.embed_tokens.weight").data());
}

TEST_CASE("splice: placeholders replaced by every image row, in order - text rows are embeddings") {
  const SmallModel& m = small_model();
  const int64_t H = m.cfg.llm.hidden_size;
  std::vector<Tensor> images{Tensor::zeros(DType::F32, {3, H}), Tensor::zeros(DType::F32, {2, H})};
  for (int i = 0; i < 3 * H; ++i) images[0].f32()[i] = float(i);
  for (int i = 0; i < 2 * H; ++i) images[1].f32()[i] = -float(i);
  const std::vector<int32_t> ids{10, kImageTokenIndex, 11, 12, kImageTokenIndex};
  const Tensor e = splice_image_features(m.w.embed_tokens, ids, images);
  REQUIRE(e.dim(0) == 3 + 3 + 2);
  CHECK(spliced_length(ids, images) == 8);
  std::vector<float> row(static_cast<size_t>(H));
  Qwen2Session s(m.w, m.cfg.llm, {1, 0});
  const auto row_of = [&](int32_t id) {
    s.embed(std::vector<int32_t>{id}, row.data());
    return row;
  };
  const std::vector<float> r10 = row_of(10), r11 = row_of(11), r12 = row_of(12);
  CHECK(std::equal(r10.begin(), r10.end(), e.f32()));
  CHECK(std::equal(images[0].f32(), images[0].f32() + 3 * H, e.f32() + H));
  CHECK(std::equal(r11.begin(), r11.end(), e.f32() + 4 * H));
  CHECK(std::equal(r12.begin(), r12.end(), e.f32() + 5 * H));
  CHECK(std::equal(images[1].f32(), images[1].f32() + 2 * H, e.f32() + 6 * H));
  CHECK(splice_image_features(m.w.embed_tokens, ids, images, 5).dim(0) == 5);  // tokenizer_model_max_length
  CHECK_THROWS_AS(splice_image_features(m.w.embed_tokens, ids, std::span<const Tensor>(images.data(), 1)),
                  Error);
}

TEST_CASE("sampler: greedy, seeded determinism, top-k, top-p, repetition penalty (HF semantics)") {
  const std::vector<float> logits{1.0f, 3.0f, 2.0f, -1.0f, 2.9f, 0.5f};
  Sampler greedy({});
  CHECK(greedy.sample(logits, {}) == 1);
  // HF repetition penalty: positive logits divided, negative multiplied; applied once per distinct id.
  Sampler pen({.repetition_penalty = 2.0f});
  CHECK(pen.sample(logits, std::vector<int32_t>{1, 1, 1}) == 4);                      // 3.0 / 2 = 1.5 < 2.9
  CHECK(pen.sample(std::vector<float>{-1.0f, -1.5f}, std::vector<int32_t>{0}) == 1);  // -1 * 2 = -2 < -1.5

  const auto draws = [&](SamplerOptions o, int n) {
    Sampler s(o);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) out.push_back(s.sample(logits, {}));
    return out;
  };
  const SamplerOptions hot{.temperature = 1.0f, .seed = 1234};
  CHECK(draws(hot, 200) == draws(hot, 200));  // same seed, same tokens
  CHECK(draws(hot, 200) != draws({.temperature = 1.0f, .seed = 99}, 200));
  const std::vector<int32_t> many = draws(hot, 4000);
  std::map<int32_t, int> freq;
  for (int32_t id : many) ++freq[id];
  CHECK(freq.size() == logits.size());  // everything reachable without filters
  // Empirical frequency of id 1 ~ softmax: e^3 / sum
  double z = 0;
  for (float l : logits) z += std::exp(l);
  CHECK(std::fabs(freq[1] / 4000.0 - std::exp(3.0) / z) < 0.03);

  for (int32_t id : draws({.temperature = 1.0f, .top_k = 2, .seed = 5}, 500)) CHECK((id == 1 || id == 4));
  for (int32_t id : draws({.temperature = 5.0f, .top_k = 1, .seed = 5}, 50)) CHECK(id == 1);
  // top-p: p(1) = 0.399, p(4) = 0.361, p(2) = 0.147: 0.3 keeps {1}; 0.6 keeps {1, 4}; 0.8 keeps {1, 4, 2}.
  for (int32_t id : draws({.temperature = 1.0f, .top_p = 0.3f, .seed = 5}, 100)) CHECK(id == 1);
  std::map<int32_t, int> f2;
  for (int32_t id : draws({.temperature = 1.0f, .top_p = 0.6f, .seed = 5}, 500)) ++f2[id];
  CHECK(f2.size() == 2);
  CHECK(f2.count(1) == 1);
  CHECK(f2.count(4) == 1);
  std::map<int32_t, int> f3;
  for (int32_t id : draws({.temperature = 1.0f, .top_p = 0.8f, .seed = 5}, 1000)) ++f3[id];
  CHECK(f3.size() == 3);
  CHECK(f3.count(2) == 1);

  CHECK_THROWS_AS(Sampler({.temperature = -1.0f}), Error);
  CHECK_THROWS_AS(Sampler({.top_p = 0.0f}), Error);
}

TEST_CASE("generate: stops on a stop id unless ignore_eos, and at max_new_tokens") {
  const SmallModel& m = small_model();
  const std::vector<int32_t> ids{1, 2, 3, 4, 5};
  Qwen2Session s(m.w, m.cfg.llm, {32, 0});
  const std::vector<float> e = embed(s, ids);
  Sampler greedy({});
  const GenerateResult free_run = generate(s, e.data(), 5, greedy, {{}, false, 6});
  REQUIRE(free_run.ids.size() == 6);
  CHECK(free_run.reason == StopReason::kMaxTokens);
  // Declare the 3rd generated id a stop id: generation ends before it (unless ignore_eos).
  const int32_t stop_id = free_run.ids[2];
  const size_t first =
      size_t(std::find(free_run.ids.begin(), free_run.ids.end(), stop_id) - free_run.ids.begin());
  s.reset();
  const GenerateResult stopped = generate(s, e.data(), 5, greedy, {{stop_id}, false, 6});
  CHECK(stopped.reason == StopReason::kStopToken);
  CHECK(stopped.ids == std::vector<int32_t>(free_run.ids.begin(), free_run.ids.begin() + long(first)));
  s.reset();
  CHECK(generate(s, e.data(), 5, greedy, {{stop_id}, true, 6}).ids == free_run.ids);
  s.reset();
  int seen = 0;
  const GenerateResult cb =
      generate(s, e.data(), 5, greedy, {{}, false, 6}, [&](int32_t) { return ++seen < 2; });
  CHECK(cb.ids.size() == 2);
  CHECK(cb.reason == StopReason::kCallback);
}
