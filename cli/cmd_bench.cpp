// `bench`: time to first token (encode + prefill + first token) against image resolution, the
// headline metric of FastVLM. Prints a table, JSON lines or CSV; optionally a PNG plot. Also
// --compare-precision (cli/bench_compare.h) and --batch, the engine's throughput
// (cli/bench_throughput.h).
#include <algorithm>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/bench_compare.h"
#include "cli/bench_throughput.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/image_input.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "cli/precision_report.h"
#include "cli/tasks.h"
#include "core/error.h"
#include "core/plot.h"

namespace fvlm::cli {
namespace {

constexpr int kMaxRuns = 1000;  // per resolution: beyond that a typo, not a measurement

struct BenchCommand {
  RunOptions run;
  std::vector<int> resolutions;
  int repeats = 3;
  int warmup = 1;
  std::string image;
  std::string question = "Describe the image.";
  std::string format = "json";
  std::string plot;
  bool compare_precision = false;
  std::vector<std::string> images;  // --compare-precision's IMAGES
  int answer_tokens = 12;
  std::string batch;  // --batch INPUT: the engine's throughput instead of TTFT
  std::vector<int> parallels = {1, 2, 4, 8};
  int limit = 16;
  bool parallel_given = false, limit_given = false;
};

struct Row {
  int resolution = 0, image_tokens = 0, prompt_tokens = 0;
  double encode_min = 0, encode_med = 0, prefill_min = 0, prefill_med = 0, ttft_min = 0, ttft_med = 0;
};

int run_bench(BenchCommand& b) {
  // Everything the user gave is checked before the model loads: options, the image, the plot path.
  finish_run_options(b.run);
  if (!b.images.empty() && !b.compare_precision)
    throw Error(Errc::kBadArgs, "bench takes images only with --compare-precision (else --image PATH)");
  if (!b.run.logits_out.empty()) throw Error(Errc::kBadArgs, "--logits-out is not available in bench");
  if (!b.batch.empty()) {
    if (b.compare_precision || !b.image.empty() || !b.resolutions.empty() || !b.plot.empty() || b.run.stream)
      throw Error(
          Errc::kBadArgs,
          "--batch measures the engine on INPUT's images at the model's resolution (or --resolution): "
          "no --compare-precision, --image, --resolutions, --plot or --stream");
    return run_batch_bench({b.run, b.batch, b.parallels, b.limit, b.warmup, b.question, b.format});
  }
  if (b.parallel_given || b.limit_given || b.run.engine.encode_ahead != -1 ||
      b.run.engine.encoder_threads != 0)
    throw Error(Errc::kBadArgs,
                "--parallel, --limit, --encode-ahead and --encoder-threads go with --batch INPUT");
  if (b.compare_precision) {
    if (!b.image.empty())
      throw Error(Errc::kBadArgs, "--compare-precision takes its images as arguments, not --image");
    if (!b.resolutions.empty() || !b.plot.empty() || b.format != "json")
      throw Error(Errc::kBadArgs,
                  "--compare-precision runs at the model's resolution (or --resolution) and writes JSON: "
                  "no --resolutions, --plot or --format");
    return run_compare_precision({b.run, b.images, b.repeats, b.warmup, b.answer_tokens, b.question});
  }
  if (b.resolutions.empty() && b.run.image.resolution != 0) b.resolutions.push_back(b.run.image.resolution);
  if (!b.plot.empty()) {
    if (!b.plot.ends_with(".png") && !b.plot.ends_with(".PNG"))
      throw Error(Errc::kBadArgs, fmt::format("--plot {}: the plot is a PNG file, name it *.png", b.plot));
    check_output_file(b.plot, "--plot");
  }
  const Image img = b.image.empty() ? bench_test_card() : read_image_arg(b.image, b.run.image.max_pixels);
  std::unique_ptr<Pipeline> p = load_pipeline(b.run.model, /*many_images=*/true);
  if (b.resolutions.empty()) {
    const int native = p->config().vision.image_size;
    for (int r : {256, 512, 768, 1024}) b.resolutions.push_back(r);
    if (std::find(b.resolutions.begin(), b.resolutions.end(), native) == b.resolutions.end())
      b.resolutions.push_back(native);
  }
  nlohmann::ordered_json how = run_report(*p, b.run.model.vision_precision, b.run.model.llm_precision);
  const std::string vision_precision = how["vision_precision"], llm_precision = how["llm_precision"];
  GenerateOptions gen = b.run.gen;
  gen.max_tokens = 1;  // time to the first token only
  gen.ignore_eos = true;
  std::vector<Row> rows;
  for (int R : b.resolutions) {
    ImageOptions im = b.run.image;
    im.resolution = R;
    std::vector<double> enc, pre, ttft;
    Row row;
    row.resolution = R;
    for (int i = 0; i < b.warmup + b.repeats; ++i) {
      const GenerateResult r = p->generate(img, b.question, gen, im, {}, false);
      row.image_tokens = r.n_image_tokens;
      row.prompt_tokens = r.n_prompt_tokens;
      if (i < b.warmup) continue;
      enc.push_back(r.timing.encode);
      pre.push_back(r.timing.prefill);
      ttft.push_back(r.timing.ttft);
    }
    row.encode_min = *std::min_element(enc.begin(), enc.end());
    row.encode_med = median(enc);
    row.prefill_min = *std::min_element(pre.begin(), pre.end());
    row.prefill_med = median(pre);
    row.ttft_min = *std::min_element(ttft.begin(), ttft.end());
    row.ttft_med = median(ttft);
    spdlog::info("{} px: ttft {:.0f} ms (encode {:.0f}, prefill {:.0f}; vision {}, llm {})", R, row.ttft_med,
                 row.encode_med, row.prefill_med, vision_precision, llm_precision);
    rows.push_back(row);
  }
  // again: the packed copies and the int8 outlier counts are only known after the runs
  how = run_report(*p, b.run.model.vision_precision, b.run.model.llm_precision);
  if (b.format == "table") {
    std::printf("%s\n", machine_line(how).c_str());
    std::printf("%6s %7s %7s %11s %11s %11s %11s\n", "res", "img_tok", "prompt", "encode_ms", "prefill_ms",
                "ttft_ms", "ttft_min");
    for (const Row& r : rows)
      std::printf("%6d %7d %7d %11.1f %11.1f %11.1f %11.1f\n", r.resolution, r.image_tokens, r.prompt_tokens,
                  r.encode_med, r.prefill_med, r.ttft_med, r.ttft_min);
  } else if (b.format == "csv") {
    std::printf(
        "resolution,image_tokens,prompt_tokens,encode_ms_median,encode_ms_min,prefill_ms_median,"
        "prefill_ms_min,ttft_ms_median,ttft_ms_min\n");
    for (const Row& r : rows)
      std::printf("%d,%d,%d,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", r.resolution, r.image_tokens, r.prompt_tokens,
                  r.encode_med, r.encode_min, r.prefill_med, r.prefill_min, r.ttft_med, r.ttft_min);
  } else {
    for (const Row& r : rows) {
      nlohmann::ordered_json j = {
          {"ok", true},
          {"task", "bench"},
          {"resolution", r.resolution},
          {"n_image_tokens", r.image_tokens},
          {"n_prompt_tokens", r.prompt_tokens},
          {"repeats", b.repeats},
          {"encode_ms", {{"median", round_ms(r.encode_med)}, {"min", round_ms(r.encode_min)}}},
          {"prefill_ms", {{"median", round_ms(r.prefill_med)}, {"min", round_ms(r.prefill_min)}}},
          {"ttft_ms", {{"median", round_ms(r.ttft_med)}, {"min", round_ms(r.ttft_min)}}}};
      j.update(how);
      emit(j);
    }
  }
  std::fflush(stdout);
  if (!b.plot.empty()) {
    PlotSeries enc{"encode", {}}, pre{"prefill", {}}, ttft{"TTFT", {}};
    std::vector<double> xs;
    for (const Row& r : rows) {
      xs.push_back(r.resolution);
      enc.y.push_back(r.encode_med);
      pre.y.push_back(r.prefill_med);
      ttft.y.push_back(r.ttft_med);
    }
    write_line_plot(b.plot, "fastvlm: time to first token vs resolution", "image side (px)", "ms (median)",
                    xs, {ttft, enc, pre});
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto b = std::make_shared<BenchCommand>();
  auto* cmd = app.add_subcommand(
      "bench", "Time to first token against image resolution (--batch: images/s at each --parallel)");
  cmd->add_option("--resolutions", b->resolutions,
                  "Resolutions to measure, multiples of 64 (default 256 512 768 "
                  "1024 and the model's)")
      ->delimiter(',')
      ->check(image_side());
  cmd->add_option("--repeats", b->repeats, "Timed runs per resolution (3)")
      ->transform(whole_number(1, kMaxRuns, fmt::format("a whole number of runs from 1 to {}", kMaxRuns)));
  cmd->add_option("--warmup", b->warmup, "Untimed runs first (1)")
      ->transform(whole_number(0, kMaxRuns, fmt::format("a whole number of runs from 0 to {}", kMaxRuns)));
  cmd->add_option("--image", b->image, "Image to use (default: a synthetic test card)");
  cmd->add_option("--question", b->question, "Question to prefill");
  cmd->add_option("--format", b->format, "json (default) | table | csv")
      ->check(CLI::IsMember({"json", "table", "csv"}));
  cmd->add_option("--plot", b->plot, "Also draw a PNG plot to this file");
  cmd->add_flag("--compare-precision", b->compare_precision,
                "Run every vision precision this CPU has on the model and IMAGES (default: a test card) and "
                "compare them with f32: feature cosine, first-token and greedy-answer agreement, speed");
  cmd->add_option("images", b->images, "Images for --compare-precision");
  cmd->add_option("--answer-tokens", b->answer_tokens, "Greedy tokens compared per image (12)")
      ->transform(whole_number(1, 4096, "a whole number of tokens from 1 to 4096"));
  cmd->add_option("--batch", b->batch,
                  "Measure the batching engine instead of TTFT: images/s and generated tokens/s at each "
                  "--parallel, on the first --limit images of INPUT (a folder, a list file or an image, as "
                  "in `batch`), each asked --question; one line per --parallel value");
  auto* parallel = cmd->add_option("--parallel", b->parallels,
                                   "With --batch: the --parallel values to measure (default 1,2,4,8)")
                       ->delimiter(',')
                       ->transform(whole_number(1, 256, "whole numbers of sequences from 1 to 256"));
  auto* limit = cmd->add_option("--limit", b->limit, "With --batch: how many of INPUT's images (16)")
                    ->transform(whole_number(1, 100000, "a whole number of images from 1 to 100000"));
  add_run_ahead_options(cmd, b->run.engine, "images");
  add_run_options(cmd, b->run);
  cmd->callback([b, parallel, limit, &exit_code] {
    b->parallel_given = parallel->count() > 0;
    b->limit_given = limit->count() > 0;
    exit_code = run_bench(*b);
  });
}

}  // namespace fvlm::cli
