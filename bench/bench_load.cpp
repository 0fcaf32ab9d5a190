// Load time and memory of whole models (issue #5 targets), each measurement in its own child
// process so that each peak RSS is its own: warm load time (median of N loads, files in the page
// cache) and one answer at the model's resolution, as `fastvlm ask` runs it, with its peak RSS
// (getrusage) against the model's file sizes; then a process that keeps the encoder (as `batch`)
// answering two images: first vs second encode (the first pays plans + packing) and its peak RSS.
// Usage: bench_load MODEL_DIR... [--runs N] [--image PATH] [--image2 PATH] [--threads T]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/process_usage.h"
#include "models/pipeline.h"

using namespace fvlm;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr double kLoadTargetMs = 500;  // issue #5: a converted 0.5B model loads in < 0.5 s warm
constexpr double kRssSlackMb = 300;    // issue #5: peak RSS <= model files + 300 MB

double mb(double bytes) { return bytes / (1024.0 * 1024.0); }

// Weight files of a model directory (GGUF pair or safetensors), and reads them once into the page cache.
double weight_file_bytes(const std::string& dir) {
  double total = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".gguf" && ext != ".safetensors") continue;
    total += double(e.file_size());
    std::FILE* f = std::fopen(e.path().c_str(), "rb");
    static char buf[1 << 20];
    while (f && std::fread(buf, 1, sizeof buf, f) > 0) {
    }
    if (f) std::fclose(f);
  }
  return total;
}

GenerateResult answer(Pipeline& p, const std::string& image) {
  GenerateOptions gen;
  gen.max_tokens = 8;
  gen.ignore_eos = true;
  return p.generate(load_image(image), "Describe the image.", gen, ImageOptions{}, {}, false);
}

// What `fastvlm ask` does: load, one answer (the encoder is freed once the image is encoded).
int run_one_shot(const std::string& dir, int runs, const std::string& image, int threads) {
  const double files = weight_file_bytes(dir);
  PipelineOptions po;  // the CLI's defaults
  po.threads = threads;
  po.vision_precision = enc::VisionPrecision::kAuto;
  po.llm_precision = dec::LlmPrecision::kAuto;
  std::vector<double> loads;
  std::unique_ptr<Pipeline> p;
  for (int r = 0; r < runs; ++r) {
    p.reset();
    const auto t0 = Clock::now();
    p = Pipeline::load(dir, po);
    loads.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double rss_after_load = peak_rss_mb();
  std::sort(loads.begin(), loads.end());
  const GenerateResult a = answer(*p, image);
  const double rss = peak_rss_mb();
  std::printf("%s\n", dir.c_str());
  std::printf("  load (warm)       min %7.1f  median %7.1f ms over %d   target < %.0f ms  %s\n",
              loads.front(), loads[loads.size() / 2], runs, kLoadTargetMs,
              loads[loads.size() / 2] < kLoadTargetMs ? "MET" : "missed");
  std::printf("  one answer (ask)  encode at %d px %7.1f ms (plans + packing included), prefill %7.1f ms\n",
              a.resolution, a.timing.encode, a.timing.prefill);
  std::printf("  peak RSS  after load %7.1f  after the answer %7.1f MB\n", rss_after_load, rss);
  std::printf("  weight files %7.1f MB   target <= %.1f MB  %s (%+.1f MB)\n", mb(files),
              mb(files) + kRssSlackMb, rss <= mb(files) + kRssSlackMb ? "MET" : "missed",
              rss - mb(files) - kRssSlackMb);
  std::fflush(stdout);
  return 0;
}

// What `batch` does: the encoder stays planned and packed; two answers show the first-image cost
// and the RSS of a process that keeps answering (LLM pages, packed encoder and scratch all held).
int run_kept(const std::string& dir, const std::string& image1, const std::string& image2, int threads) {
  PipelineOptions po;  // batch's defaults
  po.threads = threads;
  po.keep_encoder = true;
  po.vision_precision = enc::VisionPrecision::kAuto;
  po.llm_precision = dec::LlmPrecision::kAuto;
  std::unique_ptr<Pipeline> p = Pipeline::load(dir, po);
  const GenerateResult a = answer(*p, image1);
  const GenerateResult b = answer(*p, image2);
  std::printf(
      "  kept encoder (batch): encode first %7.1f  second %7.1f ms (first-image overhead %.1f ms), "
      "prefill %7.1f / %7.1f ms, peak RSS %7.1f MB\n",
      a.timing.encode, b.timing.encode, a.timing.encode - b.timing.encode, a.timing.prefill, b.timing.prefill,
      peak_rss_mb());
  std::fflush(stdout);
  return 0;
}

// Runs fn in a fresh process (ru_maxrss is per process and never goes down); true when it succeeded.
template <class Fn>
bool in_child(const std::string& dir, Fn&& fn) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      std::_Exit(fn());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", dir.c_str(), e.what());
      std::_Exit(1);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  int runs = 5, threads = 0;
  std::string image1 = "samples/astronaut.jpg", image2 = "samples/chelsea.jpg";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc)
      runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--image" && i + 1 < argc)
      image1 = argv[++i];
    else if (a == "--image2" && i + 1 < argc)
      image2 = argv[++i];
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else
      dirs.push_back(a);
  }
  if (dirs.empty()) {
    std::fprintf(stderr,
                 "usage: bench_load MODEL_DIR... [--runs N] [--image PATH] [--image2 PATH] [--threads T]\n");
    return 2;
  }
  std::printf("bench_load: warm load (median of %d), answers of 8 tokens, peak RSS (getrusage)\n", runs);
  int failed = 0;
  for (const std::string& dir : dirs) {
    failed += !in_child(dir, [&] { return run_one_shot(dir, runs, image1, threads); });
    failed += !in_child(dir, [&] { return run_kept(dir, image1, image2, threads); });
  }
  return failed ? 1 : 0;
}
