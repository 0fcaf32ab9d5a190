#include "cli/tasks.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/engine_report.h"
#include "cli/image_input.h"
#include "cli/output.h"
#include "cli/run_many.h"
#include "core/error.h"
#include "core/npy.h"
#include "decoder/llm_precision.h"
#include "models/answer_parse.h"

namespace fvlm::cli {

std::unique_ptr<Pipeline> load_pipeline(const ModelOptions& o, bool many_images) {
  PipelineOptions po;
  po.threads = o.threads;
  po.keep_encoder = many_images;
  po.vision_precision = enc::parse_vision_precision(o.vision_precision);
  po.llm_precision = dec::parse_llm_precision(o.llm_precision);
  po.weight_pages = dec::parse_weight_pages(o.weight_pages);
  return Pipeline::load(o.model, po);
}

std::string task_name(Task t) {
  switch (t) {
    case Task::kAsk:
      return "ask";
    case Task::kDescribe:
      return "describe";
    case Task::kCount:
      return "count";
    case Task::kOcr:
      return "ocr";
  }
  return "?";
}

Task parse_task(const std::string& name) {
  for (Task t : {Task::kAsk, Task::kDescribe, Task::kCount, Task::kOcr})
    if (task_name(t) == name) return t;
  throw Error(Errc::kBadArgs, fmt::format("unknown task '{}' (ask, describe, count, ocr)", name));
}

std::string task_prompt(const TaskSpec& t) {
  switch (t.task) {
    case Task::kAsk:
      return t.question;
    case Task::kDescribe:
      return "Describe the image.";  // predict.py's default prompt
    case Task::kCount:
      return fmt::format("How many {} are in the image? Answer with a single number.", t.what);
    case Task::kOcr:
      return "Transcribe all the text in the image exactly as written, line by line. Output only the text.";
  }
  return t.question;
}

nlohmann::ordered_json run_task(Pipeline& p, const TaskSpec& t, const std::string& image_arg,
                                const RunOptions& o) {
  return run_task_on_image(p, t, image_arg, read_image_arg(image_arg, o.image.max_pixels), o);
}

Request task_request(const TaskSpec& t, Image image, const GenerateOptions& gen, const ImageOptions& img) {
  Request r;
  r.image = std::move(image);
  r.messages = {{ChatRole::kUser, task_prompt(t)}};
  r.gen = gen;
  r.img = img;
  return r;
}

Request task_request(const TaskSpec& t, Image image, const RunOptions& o) {
  Request r = task_request(t, std::move(image), o.gen, o.image);
  r.want_logits = !o.logits_out.empty();
  if (o.stream)
    r.on_text = [](const std::string& s) {
      std::fputs(s.c_str(), stderr);
      std::fflush(stderr);
      return true;
    };
  return r;
}

nlohmann::ordered_json task_result_json(const Pipeline& p, const TaskSpec& t, const std::string& image_arg,
                                        const GenerateResult& r, const RunOptions& o) {
  if (!o.logits_out.empty()) {
    Tensor logits = Tensor::zeros(DType::F32, {int64_t(r.last_prompt_logits.size())});
    std::copy(r.last_prompt_logits.begin(), r.last_prompt_logits.end(), logits.f32());
    write_npy(o.logits_out, logits);
  }
  return task_result_json(t, image_arg, r, p.load_ms());
}

nlohmann::ordered_json task_result_json(const TaskSpec& t, const std::string& image_name,
                                        const GenerateResult& r, double load_ms) {
  nlohmann::ordered_json j = {{"ok", true}, {"task", task_name(t.task)}, {"image", image_name}};
  if (t.task == Task::kAsk) j["question"] = t.question;
  if (t.task == Task::kCount) j["what"] = t.what;
  j["answer"] = r.text;
  if (t.task == Task::kCount) {
    const auto n = parse_count(r.text);
    j["count"] = n ? nlohmann::ordered_json(*n) : nlohmann::ordered_json(nullptr);
  }
  if (t.task == Task::kOcr) j["text"] = r.text;
  j["token_ids"] = r.token_ids;
  j["finish_reason"] = r.finish_reason;
  j["n_prompt_tokens"] = r.n_prompt_tokens;
  j["n_image_tokens"] = r.n_image_tokens;
  j["resolution"] = r.resolution;
  if (r.grid_cols > 0) j["grid"] = {r.grid_cols, r.grid_rows};
  j["timing_ms"] = {{"load", round_ms(load_ms)},           {"preprocess", round_ms(r.timing.preprocess)},
                    {"encode", round_ms(r.timing.encode)}, {"prefill", round_ms(r.timing.prefill)},
                    {"ttft", round_ms(r.timing.ttft)},     {"decode", round_ms(r.timing.decode)}};
  j["decode_tokens_per_s"] = std::round(r.decode_tokens_per_s * 10) / 10;
  return j;
}

nlohmann::ordered_json run_task_on_image(Pipeline& p, const TaskSpec& t, const std::string& image_arg,
                                         const Image& image, const RunOptions& o) {
  const GenerateResult r = p.run(task_request(t, image, o));
  if (o.stream) std::fputc('\n', stderr);
  return task_result_json(p, t, image_arg, r, o);
}

int run_task_over_images(const TaskSpec& t, const std::vector<std::string>& images, RunOptions& o) {
  finish_run_options(o);
  if (!o.logits_out.empty() && images.size() != 1)
    throw Error(Errc::kBadArgs, "--logits-out takes exactly one image");
  std::unique_ptr<Pipeline> p = load_pipeline(o.model, /*many_images=*/images.size() > 1);
  int failed = 0;
  Errc last = Errc::kInternal;
  const auto report = [&](const std::string& img, const Error& e) {
    ++failed;
    last = e.code();
    spdlog::error("{}: {}: {}", img, errc_name(e.code()), e.what());
    emit(error_json(e.code(), e.what(), e.detail(), img));
  };
  if (images.size() == 1) {  // one image: no engine thread
    try {
      emit(run_task(*p, t, images[0], o));
    } catch (const Error& e) {
      report(images[0], e);
    }
  } else {  // several: generated together (continuous batching), one line each
    std::unique_ptr<Engine> engine = Engine::create(*p, o.engine);
    ManyRequests m;
    m.count = images.size();
    m.window = request_window(*engine);
    m.unordered = o.unordered;
    m.make = [&](size_t i) { return task_request(t, read_image_arg(images[i], o.image.max_pixels), o); };
    m.done = [&](size_t i, std::future<GenerateResult>& f) {
      try {
        const GenerateResult r = f.get();
        if (o.stream) std::fputc('\n', stderr);
        emit(task_result_json(*p, t, images[i], r, o));
      } catch (const Error& e) {
        report(images[i], e);
      }
    };
    run_many(*engine, m);
    spdlog::info("engine: {}", engine_json(*engine).dump());
  }
  if (failed == 0) return kExitOk;
  return images.size() == 1 ? errc_exit_code(last) : kExitSomeFailed;
}

}  // namespace fvlm::cli
