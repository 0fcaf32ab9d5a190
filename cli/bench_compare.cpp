#include "cli/bench_compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <spdlog/spdlog.h>

#include "cli/image_input.h"
#include "cli/output.h"
#include "cli/precision_report.h"
#include "cli/tasks.h"
#include "core/runtime.h"
#include "decoder/llm_precision.h"
#include "decoder/weight_pages.h"
#include "encoder/vision_backend.h"
#include "models/image_views.h"
#include "models/model_source.h"

namespace fvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

nlohmann::ordered_json ms_stats(const std::vector<double>& v) {
  return {{"median", round_ms(median(v))}, {"min", round_ms(*std::min_element(v.begin(), v.end()))}};
}

double cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = a[i], y = b[i];
    ab += x * y, aa += x * x, bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

double cosine(const Tensor& a, const Tensor& b) { return cosine(a.f32(), b.f32(), a.numel()); }

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() ? cosine(a.data(), b.data(), int64_t(a.size())) : 0.0;
}

struct NamedImage {
  std::string name;
  Image image;
};

// What one precision did on every image.
struct PrecisionRun {
  enc::VisionPrecision precision;
  std::string kernel;  // oneDNN's kernel of the first ConvFFN fc1, from the plan that ran
  std::vector<double> encode_ms, ttft_ms;
  std::vector<Tensor> features;         // per image
  std::vector<GenerateResult> answers;  // per image, greedy
};

// What one LLM (prefill) precision did on every image, with the encoder at f32 for all of them, so
// that the differences are the LLM's alone. f32, bf16 and int8 (--llm-precision) run on the file's
// weight layout (--weight-pages mapped); "int8_kernels" is a Q8_0/Q4_0 file as --weight-pages huge
// loads it, its matrices packed (quant/packed.h), where every prefill takes our int8 kernels
// (reported only when something was packed).
struct LlmPrecisionRun {
  std::string name;  // "f32", "bf16", "int8", "int8_kernels"
  dec::LlmPrecision precision;
  dec::WeightPages pages;
  bool ran = false;  // false: the int8_kernels run found nothing to pack
  std::vector<double> prefill_ms, ttft_ms;
  std::vector<std::vector<float>> logits;  // per image: the last prompt position's logits
  std::vector<GenerateResult> answers;     // per image, greedy
  dec::OutlierCounts outliers;             // int8: the outlier columns its prefills met
};

// The encoder alone, each precision on its own backend over one opened checkpoint: features and
// encode times (weights packed before the clock starts, as a long-lived process has them).
void encode_all(const ComparePrecisionOptions& o, const std::vector<NamedImage>& images,
                std::vector<PrecisionRun>& runs) {
  const ModelSource src = open_model_source(o.run.model.model);
  Runtime rt(o.run.model.threads);
  for (PrecisionRun& run : runs) {
    enc::CpuVisionBackend vision(rt, vision_config(src.config), src.tensors, run.precision);
    for (const NamedImage& im : images) {
      const ImageViews views = make_image_views(im.image, o.run.image, &src.config);
      vision.prepare(views.pixels.dim(2), views.pixels.dim(0));
      Tensor feats;
      for (int i = 0; i < o.warmup + o.repeats; ++i) {
        const auto t0 = Clock::now();
        feats = vision.encode(views.pixels);
        if (i >= o.warmup) run.encode_ms.push_back(ms_since(t0));
      }
      run.kernel = vision.plan(views.pixels.dim(2), views.pixels.dim(0)).ffn_impl;
      run.features.push_back(std::move(feats));
    }
  }
}

// The user's generation options made greedy, for --answer-tokens tokens.
GenerateOptions greedy_options(const ComparePrecisionOptions& o) {
  GenerateOptions g = o.run.gen;
  g.temperature = 0.0f;
  g.top_k = 0;
  g.top_p = 1.0f;
  g.max_tokens = o.answer_tokens;
  return g;
}

// The greedy options cut to one token: what time to first token is measured with.
GenerateOptions first_token_options(const ComparePrecisionOptions& o) {
  GenerateOptions g = greedy_options(o);
  g.max_tokens = 1;
  g.ignore_eos = true;
  return g;
}

// The user's model options at one vision and one LLM precision, loaded as batch does (encoder
// weights packed once, kept between images).
std::unique_ptr<Pipeline> load_at(const ComparePrecisionOptions& o, enc::VisionPrecision vision,
                                  std::string_view llm, std::string_view pages) {
  ModelOptions m = o.run.model;
  m.vision_precision = std::string(enc::vision_precision_name(vision));
  m.llm_precision = std::string(llm);
  m.weight_pages = std::string(pages);
  return load_pipeline(m, true);
}

// The whole pipeline per precision (the LLM at --llm-precision): the greedy answer of each image,
// then time to first token.
void answer_all(const ComparePrecisionOptions& o, const std::vector<NamedImage>& images,
                std::vector<PrecisionRun>& runs) {
  const GenerateOptions greedy = greedy_options(o), first = first_token_options(o);
  for (PrecisionRun& run : runs) {
    const std::unique_ptr<Pipeline> p =
        load_at(o, run.precision, o.run.model.llm_precision, o.run.model.weight_pages);
    for (const NamedImage& im : images) {
      run.answers.push_back(p->generate(im.image, o.question, greedy, o.run.image, {}, false));
      for (int i = 0; i < o.repeats; ++i)  // the greedy run above warmed this image up
        run.ttft_ms.push_back(p->generate(im.image, o.question, first, o.run.image, {}, false).timing.ttft);
    }
  }
}

// The whole pipeline per LLM precision (vision f32): last-prompt-position logits and the greedy
// answer of each image, then prefill and time to first token.
void answer_all_llm(const ComparePrecisionOptions& o, const std::vector<NamedImage>& images,
                    std::vector<LlmPrecisionRun>& runs) {
  const GenerateOptions greedy = greedy_options(o), first = first_token_options(o);
  for (LlmPrecisionRun& run : runs) {
    const std::unique_ptr<Pipeline> p =
        load_at(o, enc::VisionPrecision::kF32, dec::llm_precision_name(run.precision),
                dec::weight_pages_name(run.pages));
    if (run.pages == dec::WeightPages::kHuge && p->weight_placement().packed == 0) continue;
    run.ran = true;
    for (const NamedImage& im : images) {
      GenerateResult r = p->generate(im.image, o.question, greedy, o.run.image, {}, true);
      run.logits.push_back(std::move(r.last_prompt_logits));
      run.answers.push_back(std::move(r));
      for (int i = 0; i < o.repeats; ++i) {
        const Timings t = p->generate(im.image, o.question, first, o.run.image, {}, false).timing;
        run.prefill_ms.push_back(t.prefill);
        run.ttft_ms.push_back(t.ttft);
      }
    }
    run.outliers = p->llm_int8_outliers();
  }
}

// One precision against the reference, image by image: `cosines[i]` (of the features or the logits:
// `cosine_key`) and the greedy answers. The summary fields, then the per-image rows.
nlohmann::ordered_json against_reference(const std::vector<NamedImage>& images,
                                         const std::vector<double>& cosines,
                                         const std::vector<GenerateResult>& answers,
                                         const std::vector<GenerateResult>& ref_answers,
                                         const std::string& cosine_key) {
  nlohmann::ordered_json per_image = nlohmann::ordered_json::array();
  double cos_min = 1.0, cos_sum = 0.0;
  int first_same = 0, answer_same = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::vector<int32_t>&ids = answers[i].token_ids, &ref_ids = ref_answers[i].token_ids;
    const bool first_ok = !ids.empty() && !ref_ids.empty() && ids[0] == ref_ids[0];
    const bool answer_ok = ids == ref_ids;
    cos_min = std::min(cos_min, cosines[i]);
    cos_sum += cosines[i];
    first_same += first_ok;
    answer_same += answer_ok;
    per_image.push_back({{"image", images[i].name},
                         {cosine_key, cosines[i]},
                         {"first_token_same", first_ok},
                         {"answer_same", answer_ok},
                         {"answer_ids", ids},
                         {"answer", answers[i].text}});
  }
  const double n = double(images.size());
  return {{cosine_key, {{"min", cos_min}, {"mean", cos_sum / n}}},
          {"first_token_agreement", first_same / n},
          {"answer_agreement", answer_same / n},
          {"images", per_image}};
}

nlohmann::ordered_json report_llm(const std::vector<NamedImage>& images,
                                  const std::vector<LlmPrecisionRun>& runs) {
  const LlmPrecisionRun& ref = runs.front();  // f32
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const LlmPrecisionRun& run : runs) {
    if (!run.ran) continue;
    std::vector<double> cosines;
    for (size_t i = 0; i < images.size(); ++i) cosines.push_back(cosine(run.logits[i], ref.logits[i]));
    nlohmann::ordered_json row = {{"llm_precision", run.name},
                                  {"weight_pages", std::string(dec::weight_pages_name(run.pages))},
                                  {"prefill_ms", ms_stats(run.prefill_ms)},
                                  {"ttft_ms", ms_stats(run.ttft_ms)}};
    row.update(against_reference(images, cosines, run.answers, ref.answers, "logits_cosine"));
    if (run.precision == dec::LlmPrecision::kInt8) row["outliers"] = outlier_report(run.outliers);
    out.push_back(std::move(row));
  }
  return out;
}

nlohmann::ordered_json report(const ComparePrecisionOptions& o, const std::vector<NamedImage>& images,
                              const std::vector<PrecisionRun>& runs) {
  const PrecisionRun& ref = runs.front();  // f32
  nlohmann::ordered_json precisions = nlohmann::ordered_json::array();
  for (const PrecisionRun& run : runs) {
    std::vector<double> cosines;
    for (size_t i = 0; i < images.size(); ++i) cosines.push_back(cosine(run.features[i], ref.features[i]));
    nlohmann::ordered_json row = {
        {"vision_precision", std::string(enc::vision_precision_name(run.precision))},
        {"kernel", run.kernel},
        {"encode_ms", ms_stats(run.encode_ms)},
        {"ttft_ms", ms_stats(run.ttft_ms)}};
    row.update(against_reference(images, cosines, run.answers, ref.answers, "feature_cosine"));
    precisions.push_back(std::move(row));
  }
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const NamedImage& im : images) names.push_back(im.name);
  return {{"ok", true},
          {"task", "bench"},
          {"mode", "compare_precision"},
          {"model", o.run.model.model},
          {"images", names},
          {"resolution", ref.answers.front().resolution},
          {"repeats", o.repeats},
          {"warmup", o.warmup},
          {"answer_tokens", o.answer_tokens},
          {"isa", isa_report()},
          {"reference", "f32"},
          {"precisions", precisions},
          {"llm_precision", std::string(dec::llm_precision_name(dec::resolve_llm_precision(
                                dec::parse_llm_precision(o.run.model.llm_precision))))}};
}

}  // namespace

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

Image bench_test_card() {
  Image img = Image::black(1280, 960);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      uint8_t* p = img.row(y) + 3 * x;
      p[0] = uint8_t(x * 255 / img.width);
      p[1] = uint8_t(y * 255 / img.height);
      p[2] = uint8_t(((x / 80) % 2) * 200);
    }
  return img;
}

int run_compare_precision(const ComparePrecisionOptions& o) {
  std::vector<NamedImage> images;
  for (const std::string& path : o.images)
    images.push_back({path, read_image_arg(path, o.run.image.max_pixels)});
  if (images.empty()) images.push_back({"test-card", bench_test_card()});
  std::vector<PrecisionRun> runs;
  for (enc::VisionPrecision p : enc::runnable_vision_precisions()) runs.push_back({p, {}, {}, {}, {}, {}});
  std::vector<LlmPrecisionRun> llm_runs;
  for (dec::LlmPrecision p : dec::runnable_llm_precisions())
    llm_runs.push_back(
        {std::string(dec::llm_precision_name(p)), p, dec::WeightPages::kMapped, false, {}, {}, {}, {}, {}});
  llm_runs.push_back(
      {"int8_kernels", dec::LlmPrecision::kF32, dec::WeightPages::kHuge, false, {}, {}, {}, {}, {}});
  encode_all(o, images, runs);
  answer_all(o, images, runs);
  answer_all_llm(o, images, llm_runs);
  for (const PrecisionRun& run : runs)
    spdlog::info("vision {}: kernel {}, encode {:.0f} ms, ttft {:.0f} ms",
                 enc::vision_precision_name(run.precision), run.kernel, median(run.encode_ms),
                 median(run.ttft_ms));
  for (const LlmPrecisionRun& run : llm_runs)
    if (run.ran)
      spdlog::info("llm {}: prefill {:.0f} ms, ttft {:.0f} ms", run.name, median(run.prefill_ms),
                   median(run.ttft_ms));
  nlohmann::ordered_json j = report(o, images, runs);
  j["llm_precisions"] = report_llm(images, llm_runs);
  emit(j);
  std::fflush(stdout);
  return 0;
}

}  // namespace fvlm::cli
