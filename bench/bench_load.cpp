// Load time and memory of whole models (issue #5 targets), one child process per model so that
// each peak RSS is its own: warm load time (median of N loads, files in the page cache), then
// answers at the model's resolution for two images in one process (first vs second encode: the
// first pays plan creation), and the peak RSS (getrusage) against the model's file sizes.
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
#include "models/pipeline.h"

using namespace fvlm;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr double kLoadTargetMs = 500;     // issue #5: a converted 0.5B model loads in < 0.5 s warm
constexpr double kRssSlackMb = 300;       // issue #5: peak RSS <= model files + 300 MB

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
    while (f && std::fread(buf, 1, sizeof buf, f) > 0) {}
    if (f) std::fclose(f);
  }
  return total;
}

double current_rss_mb() {   // resident now, from /proc/self/statm (pages)
  long size = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f && std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  if (f) std::fclose(f);
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;   // kB on Linux
}

int run_one(const std::string& dir, int runs, const std::string& image1, const std::string& image2, int threads) {
  const double files = weight_file_bytes(dir);
  PipelineOptions po;
  po.threads = threads;
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
  GenerateOptions gen;
  gen.max_tokens = 8;
  gen.ignore_eos = true;
  const ImageOptions img;
  const GenerateResult a = p->generate(load_image(image1), "Describe the image.", gen, img, {}, false);
  const double rss_first = peak_rss_mb(), now_first = current_rss_mb();
  const GenerateResult b = p->generate(load_image(image2), "Describe the image.", gen, img, {}, false);
  const double rss = peak_rss_mb(), now_second = current_rss_mb();
  std::printf("%s\n", dir.c_str());
  std::printf("  load (warm)       min %7.1f  median %7.1f ms over %d   target < %.0f ms  %s\n", loads.front(),
              loads[loads.size() / 2], runs, kLoadTargetMs, loads[loads.size() / 2] < kLoadTargetMs ? "MET" : "missed");
  std::printf("  encode at %4d px first %7.1f  second %7.1f ms        first-image overhead %.1f ms\n", a.resolution,
              a.timing.encode, b.timing.encode, a.timing.encode - b.timing.encode);
  std::printf("  prefill           first %7.1f  second %7.1f ms\n", a.timing.prefill, b.timing.prefill);
  std::printf("  peak RSS  after load %7.1f  after 1st answer %7.1f  after 2nd %7.1f MB\n", rss_after_load, rss_first,
              rss);
  std::printf("  RSS now   after 1st answer %7.1f  after 2nd %7.1f MB\n", now_first, now_second);
  std::printf("  weight files %7.1f MB   target <= %.1f MB  %s (%+.1f MB)\n", mb(files), mb(files) + kRssSlackMb,
              rss <= mb(files) + kRssSlackMb ? "MET" : "missed", rss - mb(files) - kRssSlackMb);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dirs;
  int runs = 5, threads = 0;
  std::string image1 = "samples/astronaut.jpg", image2 = "samples/chelsea.jpg";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--image" && i + 1 < argc) image1 = argv[++i];
    else if (a == "--image2" && i + 1 < argc) image2 = argv[++i];
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else dirs.push_back(a);
  }
  if (dirs.empty()) {
    std::fprintf(stderr, "usage: bench_load MODEL_DIR... [--runs N] [--image PATH] [--image2 PATH] [--threads T]\n");
    return 2;
  }
  std::printf("bench_load: warm load (median of %d), two answers of 8 tokens, peak RSS (getrusage)\n", runs);
  int failed = 0;
  for (const std::string& dir : dirs) {
    std::fflush(stdout);
    const pid_t pid = fork();   // a fresh process per model: ru_maxrss is per process and never goes down
    if (pid == 0) {
      try {
        std::_Exit(run_one(dir, runs, image1, image2, threads));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", dir.c_str(), e.what());
        std::_Exit(1);
      }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return failed ? 1 : 0;
}
