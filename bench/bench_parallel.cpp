// Continuous batching throughput (issue 14): the same requests through the Engine at several
// --parallel values. Per N: images/s, generated tokens/s (all phases, wall clock), CPU seconds
// (user + sys) and the process's peak RSS so far. Synthetic images (a gradient with blocks) at the
// model's resolution, "Describe the image.", --ignore-eos so every request makes --max-tokens.
// --text-only drops the image (short prompts: close to pure decode, what llama-batched-bench's
// TG measures). Prints figures; asserts nothing.
//   build/bench_parallel MODEL [--images 16] [--max-tokens 128] [--parallel 1,2,4,8] [--threads T]
//                              [--text-only] [--kv-budget MB] [--encode-ahead K] [--encoder-threads E]
// --encode-ahead / --encoder-threads: EngineOptions (-1 / 0 = the engine's automatic choice).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/image.h"
#include "core/process_usage.h"
#include "models/engine.h"
#include "models/pipeline.h"

using namespace fvlm;
using Clock = std::chrono::steady_clock;

namespace {

Image synthetic_image(int i) {
  Image img = Image::black(1024, 768);
  for (int y = 0; y < img.height; ++y) {
    uint8_t* row = img.row(y);
    for (int x = 0; x < img.width; ++x) {
      const bool block = ((x / 128) + (y / 128) + i) % 3 == 0;
      row[3 * x] = uint8_t(block ? 40 * i : x / 4);
      row[3 * x + 1] = uint8_t(y / 3);
      row[3 * x + 2] = uint8_t(block ? 255 - 20 * i : 128);
    }
  }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s MODEL [--images N] [--max-tokens T] [--parallel 1,2,4,8] [--threads T] "
                 "[--text-only] [--kv-budget MB] [--encode-ahead K] [--encoder-threads E]\n",
                 argv[0]);
    return 2;
  }
  int n = 16, max_tokens = 128, threads = 0, encode_ahead = -1, encoder_threads = 0;
  int64_t kv_budget = 0;
  bool text_only = false;
  std::vector<int> parallels = {1, 2, 4, 8};
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    const std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (k == "--text-only") {
      text_only = true;
      continue;
    }
    ++i;
    if (k == "--images") n = std::atoi(v.c_str());
    if (k == "--max-tokens") max_tokens = std::atoi(v.c_str());
    if (k == "--threads") threads = std::atoi(v.c_str());
    if (k == "--kv-budget") kv_budget = std::atoll(v.c_str());
    if (k == "--encode-ahead") encode_ahead = std::atoi(v.c_str());
    if (k == "--encoder-threads") encoder_threads = std::atoi(v.c_str());
    if (k == "--parallel") {
      parallels.clear();
      std::stringstream s(v);
      for (std::string p; std::getline(s, p, ',');) parallels.push_back(std::atoi(p.c_str()));
    }
  }
  PipelineOptions po;
  po.threads = threads;
  po.keep_encoder = true;                             // as batch
  po.vision_precision = enc::VisionPrecision::kAuto;  // as batch's defaults
  po.llm_precision = dec::LlmPrecision::kAuto;
  const auto pipeline = Pipeline::load(argv[1], po);
  std::vector<Image> images;
  for (int i = 0; i < n; ++i) images.push_back(synthetic_image(i));
  std::printf("%d %s requests, %d tokens each (--ignore-eos); %d threads; cpu: %s\n", n,
              text_only ? "text-only" : "image", max_tokens, pipeline->threads(), cpu_summary().c_str());
  std::printf("%8s %9s %10s %12s %10s %10s %12s %14s\n", "parallel", "wall s", "images/s", "gen tok/s",
              "cpu s", "peak MB", "mean ttft ms", "ahead/overlap");
  for (int parallel : parallels) {
    const double cpu0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    std::unique_ptr<Engine> engine =
        Engine::create(*pipeline, {parallel, kv_budget, encode_ahead, encoder_threads});
    std::vector<std::future<GenerateResult>> futures;
    for (int i = 0; i < n; ++i) {
      Request r;
      if (!text_only) r.image = images[size_t(i)];
      r.messages = {{ChatRole::kUser, text_only ? "Write a long story about request " + std::to_string(i)
                                                : std::string("Describe the image.")}};
      r.gen.max_tokens = max_tokens;
      r.gen.ignore_eos = true;
      futures.push_back(engine->submit(std::move(r)));
    }
    int64_t tokens = 0;
    double ttft = 0;
    for (auto& f : futures) {
      const GenerateResult g = f.get();
      tokens += int64_t(g.token_ids.size());
      ttft += g.timing.ttft;
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const EngineStats s = engine->stats();  // images encoded ahead / of them while others decoded
    std::printf("%8d %9.2f %10.3f %12.1f %10.1f %10.0f %12.0f %8lld/%-5lld\n", parallel, wall, n / wall,
                double(tokens) / wall, process_cpu_seconds() - cpu0, peak_rss_mb(), ttft / n,
                (long long)s.encoded_ahead, (long long)s.encoded_while_decoding);
    std::fflush(stdout);
  }
  return 0;
}
