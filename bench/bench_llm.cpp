// Qwen2 decoder speed on the real FastVLM-0.5B shapes with random BF16 weights (or the LLM of a model
// on disk, e.g. a Q8_0/Q4_0 GGUF pair, to set beside llama-bench on the same file): prefill of a
// 280-token prompt (24 text + 256 image tokens) and greedy decode steps after it, with the prefill
// matmuls in f32, bf16 or int8 (--llm-precision). Several precisions (e.g. "bf16,int8") are run in one
// process, alternating run by run, and their medians set side by side: on a machine whose speed
// drifts (the AMX VM moves 1.5-2.5x within seconds) only such a ratio means anything.
// Usage: bench_llm [threads=2] [prompt=280] [decode_steps=64] [repeats=3] [model=0.5b|1.5b|7b|PATH]
//                  [precisions=f32|bf16|int8|auto[,...]] [weight_pages=auto|huge|mapped]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/parallel.h"
#include "core/process_usage.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/weight_pages.h"
#include "models/model_source.h"
#include "models/random_weights.h"
#include "models/tensor_table.h"

using namespace fvlm;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<dec::LlmPrecision> parse_precisions(const std::string& list) {
  std::vector<dec::LlmPrecision> out;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(dec::parse_llm_precision(list.substr(at, comma - at)));
    at = comma + 1;
  }
  return out;
}

// One precision's model, session and timings.
struct Contender {
  std::unique_ptr<dec::Qwen2Model> llm;
  std::unique_ptr<dec::LlmBackend> session;
  std::string name;
  std::vector<double> prefill_s, decode_s;
};
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int prompt = argc > 2 ? std::atoi(argv[2]) : 280;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 64;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 3;
  const std::string model = argc > 5 ? argv[5] : "0.5b";
  const std::vector<dec::LlmPrecision> precisions = parse_precisions(argc > 6 ? argv[6] : "f32");
  const dec::WeightPages pages = dec::parse_weight_pages(argc > 7 ? argv[7] : "auto");
  set_num_threads(threads);
  const bool released = model == "0.5b" || model == "1.5b" || model == "7b";
  auto t0 = Clock::now();
  ModelSource source;
  ModelConfig cfg;
  if (released) {
    cfg = released_config(model == "7b"     ? ReleasedModel::k7B
                          : model == "1.5b" ? ReleasedModel::k1_5B
                                            : ReleasedModel::k0_5B);
    source.tensors = random_weights(llm_tensor_table(cfg), 42, DType::BF16);
  } else {
    source = open_model_source(model);
    cfg = source.config;
  }
  dec::Qwen2Weights weights = dec::bind_qwen2(cfg.llm, source.tensors);
  const dec::WeightPlacement placed = dec::place_weights(weights, pages);
  const int64_t n_vocab_valid = 151646;  // Qwen2 tokenizer size: logits only for these rows
  std::vector<Contender> runs;
  for (const dec::LlmPrecision p : precisions) {  // the models share the placed weights
    Contender c;
    c.llm = std::make_unique<dec::Qwen2Model>(weights, cfg.llm, p);
    c.session = c.llm->new_session({prompt + steps + 1, n_vocab_valid});
    c.name = std::string(dec::llm_precision_name(c.llm->precision()));
    runs.push_back(std::move(c));
  }
  std::string names;
  for (const Contender& c : runs) names += (names.empty() ? "" : ", ") + c.name;
  std::printf("model %s (%s, %.1f s to load), threads %d, prefill precision %s\ncpu: %s\n", model.c_str(),
              released ? "random BF16 weights" : "from disk", seconds_since(t0), threads, names.c_str(),
              cpu_summary().c_str());
  std::printf("weights: %lld MB %s (%s), copy %.0f ms, %lld MB backed by 2 MB pages\n",
              (long long)(placed.bytes >> 20),
              placed.pages == dec::WeightPages::kHuge ? "in huge pages" : "in the file mapping",
              placed.reason.c_str(), placed.ms, (long long)(placed.huge_backed_bytes >> 20));

  std::mt19937 rng(7);
  std::vector<int32_t> ids(static_cast<size_t>(prompt));
  for (int32_t& id : ids) id = int32_t(rng() % 150000);
  std::vector<float> embeds(size_t(prompt) * size_t(cfg.llm.hidden_size));
  runs[0].session->embed(ids, embeds.data());

  const bool several = runs.size() > 1;
  for (int r = 0; r < repeats; ++r)
    for (Contender& c : runs) {
      dec::LlmBackend& s = *c.session;
      s.reset();
      t0 = Clock::now();
      double c0 = process_cpu_seconds();
      std::span<const float> logits = s.prefill(embeds.data(), prompt);
      c.prefill_s.push_back(seconds_since(t0));
      const double prefill_cpu = process_cpu_seconds() - c0;
      t0 = Clock::now();
      c0 = process_cpu_seconds();
      for (int i = 0; i < steps; ++i) {
        const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        logits = s.decode_step(next);
      }
      c.decode_s.push_back(seconds_since(t0));
      const double decode_cpu = process_cpu_seconds() - c0;
      std::printf(
          "  run %d%s%s: prefill %d tokens %.1f ms (%.1f tok/s; cpu %.0f ms), decode %d steps %.1f ms (%.2f "
          "tok/s; cpu %.0f ms)\n",
          r, several ? " " : "", several ? c.name.c_str() : "", prompt, c.prefill_s.back() * 1e3,
          prompt / c.prefill_s.back(), prefill_cpu * 1e3, steps, c.decode_s.back() * 1e3,
          steps / c.decode_s.back(), decode_cpu * 1e3);
    }
  // Packed bf16 copies (AMX; FVLM_LLM_PACK) are made at the second prefill, s8 ones (int8) at the
  // first: runs 0 and 1 are not the steady state there, and the figures below leave them out (when
  // there are runs after them).
  double first_median = 0;
  for (Contender& c : runs) {
    const dec::PrefillMatmul* packer = c.llm->packer();
    const bool packs = packer && packer->packs();
    const size_t first = packs && c.prefill_s.size() > 2 ? 2 : 0;
    c.prefill_s.erase(c.prefill_s.begin(), c.prefill_s.begin() + long(first));
    c.decode_s.erase(c.decode_s.begin(), c.decode_s.begin() + long(first));
    const double pmin = *std::min_element(c.prefill_s.begin(), c.prefill_s.end()), pmed = median(c.prefill_s);
    const double dmin = *std::min_element(c.decode_s.begin(), c.decode_s.end()), dmed = median(c.decode_s);
    const std::string tag = several ? " [" + c.name + "]" : "";
    // No peer figure is built in: a ratio is only honest against a peer run beside this one, on the
    // same machine and file (llama-bench -m FILE -p PROMPT -n STEPS; bench/README.md).
    std::printf("prefill %d tokens%s: min %.1f ms (%.1f tok/s), median %.1f ms (%.1f tok/s)", prompt,
                tag.c_str(), pmin * 1e3, prompt / pmin, pmed * 1e3, prompt / pmed);
    if (&c == &runs[0])
      first_median = pmed;
    else
      std::printf("; %.2fx %s's median", first_median / pmed, runs[0].name.c_str());
    std::printf("\ndecode after %d%s: min %.2f tok/s, median %.2f tok/s\n", prompt, tag.c_str(), steps / dmin,
                steps / dmed);
    if (packs)
      std::printf("%s packed copies: %.0f MB (runs 0-1: unpacked or packing; %s)\n",
                  c.llm->int8() ? "s8" : "bf16", packer->packed_bytes() / 1048576.0,
                  first ? "min and median over the runs after them" : "in the min and median: too few runs");
  }
  return 0;
}
