#include "cli/bench_throughput.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/batch_inputs.h"
#include "cli/batch_summary.h"
#include "cli/engine_report.h"
#include "cli/output.h"
#include "cli/precision_report.h"
#include "cli/tasks.h"
#include "core/error.h"
#include "core/image.h"
#include "core/process_usage.h"

namespace fvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct InputImage {
  std::string path;
  Image image;
};

// The first `limit` images of INPUT, decoded. An image that cannot be read stops the bench: its
// figures would not be the ones asked for.
std::vector<InputImage> read_inputs(const BatchBench& b) {
  std::vector<InputImage> out;
  for (const BatchItem& item : list_batch_inputs(b.input, false)) {
    if (int(out.size()) == b.limit) break;
    if (item.unreadable) throw Error(item.error_code, item.error_message);
    out.push_back({item.path, load_image(item.path, b.run.image.max_pixels)});
  }
  if (out.empty()) throw Error(Errc::kBadArgs, fmt::format("--batch {}: no image there", b.input));
  return out;
}

struct Measure {
  int parallel = 0, images = 0, failed = 0;
  int64_t tokens = 0;
  double wall_s = 0, cpu_s = 0, ttft_ms_sum = 0, peak_rss_mb = 0;
  std::string first_error;
  nlohmann::ordered_json engine;
  int ok() const { return images - failed; }
  double images_per_s() const { return ok() / wall_s; }
  double tokens_per_s() const { return double(tokens) / wall_s; }
  double mean_ttft_ms() const { return ok() > 0 ? ttft_ms_sum / ok() : 0.0; }
};

Measure measure(Pipeline& p, const BatchBench& b, const TaskSpec& ask, const std::vector<InputImage>& images,
                int parallel) {
  EngineOptions eo = b.run.engine;
  eo.parallel = parallel;
  Measure m;
  m.parallel = parallel;
  m.images = int(images.size());
  const double cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  std::unique_ptr<Engine> engine = Engine::create(p, eo);
  std::vector<std::future<GenerateResult>> futures;
  for (const InputImage& im : images) futures.push_back(engine->submit(task_request(ask, im.image, b.run)));
  for (size_t i = 0; i < futures.size(); ++i) {
    try {
      const GenerateResult r = futures[i].get();
      m.tokens += int64_t(r.token_ids.size());
      m.ttft_ms_sum += r.timing.ttft;
    } catch (const std::exception& e) {
      if (m.failed++ == 0) m.first_error = fmt::format("{}: {}", images[i].path, e.what());
    }
  }
  m.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  m.cpu_s = process_cpu_seconds() - cpu0;
  m.peak_rss_mb = peak_rss_mb();
  m.engine = engine_json(*engine);
  return m;
}

}  // namespace

int run_batch_bench(const BatchBench& b) {
  const std::vector<InputImage> images = read_inputs(b);
  std::unique_ptr<Pipeline> p = load_pipeline(b.run.model, /*many_images=*/true);
  const TaskSpec ask{Task::kAsk, b.question, ""};
  for (int i = 0; i < b.warmup; ++i)
    p->run(task_request(ask, images[size_t(i) % images.size()].image, b.run));
  nlohmann::ordered_json how = run_report(*p, b.run.model.vision_precision, b.run.model.llm_precision);
  std::vector<Measure> rows;
  for (int parallel : b.parallels) {
    rows.push_back(measure(*p, b, ask, images, parallel));
    const Measure& m = rows.back();
    spdlog::info("--parallel {}: {:.3f} images/s, {:.1f} generated tokens/s, mean TTFT {:.0f} ms{}", parallel,
                 m.images_per_s(), m.tokens_per_s(), m.mean_ttft_ms(),
                 m.failed ? fmt::format(" ({} failed, first: {})", m.failed, m.first_error) : "");
  }
  // again: the packed copies and the int8 outlier counts are only known after the runs
  how = run_report(*p, b.run.model.vision_precision, b.run.model.llm_precision);
  if (b.format == "table") {
    std::printf("%s\n", machine_line(how).c_str());
    std::printf("%8s %7s %7s %9s %9s %10s %12s %8s %8s\n", "parallel", "images", "failed", "wall_s",
                "images/s", "gen_tok/s", "mean_ttft_ms", "cpu_s", "peak_MB");
    for (const Measure& m : rows)
      std::printf("%8d %7d %7d %9.2f %9.3f %10.1f %12.0f %8.1f %8.0f\n", m.parallel, m.images, m.failed,
                  m.wall_s, m.images_per_s(), m.tokens_per_s(), m.mean_ttft_ms(), m.cpu_s, m.peak_rss_mb);
  } else if (b.format == "csv") {
    std::printf(
        "parallel,images,failed,wall_s,images_per_s,gen_tokens_per_s,mean_ttft_ms,cpu_s,peak_rss_mb\n");
    for (const Measure& m : rows)
      std::printf("%d,%d,%d,%.3f,%.4f,%.2f,%.1f,%.2f,%.1f\n", m.parallel, m.images, m.failed, m.wall_s,
                  m.images_per_s(), m.tokens_per_s(), m.mean_ttft_ms(), m.cpu_s, m.peak_rss_mb);
  } else {
    for (const Measure& m : rows) {
      nlohmann::ordered_json j = {{"ok", m.failed == 0},
                                  {"task", "bench"},
                                  {"batch", b.input},
                                  {"parallel", m.parallel},
                                  {"images", m.images},
                                  {"failed", m.failed},
                                  {"generated_tokens", m.tokens},
                                  {"wall_s", round3(m.wall_s)},
                                  {"images_per_s", round3(m.images_per_s())},
                                  {"gen_tokens_per_s", round1(m.tokens_per_s())},
                                  {"mean_ttft_ms", round1(m.mean_ttft_ms())},
                                  {"cpu_s", round3(m.cpu_s)},
                                  {"peak_rss_mb", round1(m.peak_rss_mb)},  // of the process so far
                                  {"engine", m.engine}};
      if (m.failed) j["first_error"] = m.first_error;
      j.update(how);
      emit(j);
    }
  }
  std::fflush(stdout);
  for (const Measure& m : rows)
    if (m.failed) return 1;
  return 0;
}

}  // namespace fvlm::cli
