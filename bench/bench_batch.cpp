// Throughput of one batch process over real-world-size images, and where its time goes: a folder
// of mixed images is made here (12 MP photo-like JPEGs, screenshot PNGs, scanned-receipt JPEGs),
// then answered one by one as `fastvlm batch` does it (model loaded once, encoder kept, the next
// image decoded on another thread while the model works on this one). Prints figures; asserts nothing.
//   build/bench_batch MODEL_DIR [--images N=9] [--max-tokens T=32] [--threads T] [--dir DIR (kept)]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "core/image.h"
#include "models/pipeline.h"

using namespace fvlm;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A phone photo: sky gradient, a few blurred shapes, sensor noise; 4032x3024, JPEG q92 (~3-5 MB).
cv::Mat photo_like(cv::RNG& rng) {
  cv::Mat img(3024, 4032, CV_8UC3);
  for (int y = 0; y < img.rows; ++y) img.row(y).setTo(cv::Scalar(200 - y / 20, 170 - y / 30, 120 + y / 40));
  for (int i = 0; i < 12; ++i)
    cv::ellipse(img, {rng.uniform(0, 4032), rng.uniform(1000, 3024)},
                {rng.uniform(100, 900), rng.uniform(80, 600)}, rng.uniform(0, 180), 0, 360,
                cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), cv::FILLED);
  cv::GaussianBlur(img, img, {0, 0}, 6);
  cv::Mat noise(img.size(), CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(6));
  img += noise;
  return img;
}

// A laptop screenshot: flat panels, a title bar, lines of text; 2880x1800 PNG.
cv::Mat screenshot_like(cv::RNG& rng) {
  cv::Mat img(1800, 2880, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::rectangle(img, {0, 0, 2880, 70}, cv::Scalar(60, 60, 60), cv::FILLED);
  cv::rectangle(img, {0, 70, 520, 1730}, cv::Scalar(230, 226, 222), cv::FILLED);
  for (int y = 140; y < 1760; y += 44)
    cv::putText(img,
                "Invoice 2024-" + std::to_string(rng.uniform(1000, 9999)) + "  total  $" +
                    std::to_string(rng.uniform(1, 999)) + ".00  status: paid",
                {580, y}, cv::FONT_HERSHEY_SIMPLEX, 1.0, cv::Scalar(20, 20, 20), 2, cv::LINE_AA);
  return img;
}

// A scanned receipt: narrow, tall, grey paper, slightly rotated, printed lines; 1700x4200 JPEG.
cv::Mat receipt_like(cv::RNG& rng) {
  cv::Mat img(4200, 1700, CV_8UC3, cv::Scalar(232, 234, 236));
  for (int y = 200, i = 0; y < 4000; y += 70, ++i)
    cv::putText(img,
                (i % 7 == 0 ? "SUBTOTAL " : "ITEM ") + std::to_string(rng.uniform(10, 99)) + "  " +
                    std::to_string(rng.uniform(1, 99)) + "." + std::to_string(rng.uniform(10, 99)),
                {120, y}, cv::FONT_HERSHEY_PLAIN, 4.0, cv::Scalar(30, 30, 30), 3, cv::LINE_AA);
  const cv::Mat rot = cv::getRotationMatrix2D({850, 2100}, 1.5, 1.0);
  cv::warpAffine(img, img, rot, img.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(90, 90, 90));
  cv::Mat noise(img.size(), CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(10));
  img += noise;
  return img;
}

std::vector<std::pair<std::string, std::string>> make_images(const fs::path& dir, int n) {
  fs::create_directories(dir);
  cv::RNG rng(1234);
  std::vector<std::pair<std::string, std::string>> out;  // (kind, path)
  for (int i = 0; i < n; ++i) {
    const char* kinds[] = {"photo", "screenshot", "receipt"};
    const std::string kind = kinds[i % 3];
    const fs::path p = dir / (kind + std::to_string(i) + (kind == "screenshot" ? ".png" : ".jpg"));
    if (!fs::exists(p)) {
      const cv::Mat bgr = kind == "photo"        ? photo_like(rng)
                          : kind == "screenshot" ? screenshot_like(rng)
                                                 : receipt_like(rng);
      cv::imwrite(p.string(), bgr, {cv::IMWRITE_JPEG_QUALITY, 92});
    }
    out.emplace_back(kind, p.string());
  }
  return out;
}

struct Split {  // milliseconds summed over images
  double read_decode = 0, wait = 0, preprocess = 0, encode = 0, prefill = 0, decode = 0;
  int images = 0, tokens = 0;
};

// wall_ms: the whole run's wall time for the images/s column (0: not measured per kind, images interleave).
void print_row(const char* name, const Split& s, double wall_ms) {
  const double n = std::max(1, s.images);
  const std::string rate = wall_ms > 0 ? std::to_string(s.images / wall_ms * 1000).substr(0, 6) : "-";
  std::printf("%-11s %4d %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %8s\n", name, s.images, s.read_decode / n,
              s.wait / n, s.preprocess / n, s.encode / n, s.prefill / n, s.decode / n, rate.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR [--images N] [--max-tokens T] [--threads T] [--dir DIR]\n",
                 argv[0]);
    return 2;
  }
  const std::string model = argv[1];
  int n = 9, max_tokens = 32, threads = 0;
  std::string dir_arg;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--images")
      n = std::atoi(v.c_str());
    else if (k == "--max-tokens")
      max_tokens = std::atoi(v.c_str());
    else if (k == "--threads")
      threads = std::atoi(v.c_str());
    else if (k == "--dir")
      dir_arg = v;
  }
  const fs::path dir = dir_arg.empty()
                           ? fs::temp_directory_path() / ("bench_batch_" + std::to_string(::getpid()))
                           : fs::path(dir_arg);
  auto t0 = Clock::now();
  const auto images = make_images(dir, n);
  std::printf("made %d images in %s (%.1f s)\n", n, dir.c_str(), ms_since(t0) / 1000);

  PipelineOptions po;
  po.threads = threads;
  po.keep_encoder = true;                             // as batch
  po.vision_precision = enc::VisionPrecision::kAuto;  // as batch's default
  po.llm_precision = dec::LlmPrecision::kAuto;        // as batch's default
  const auto pipeline = Pipeline::load(model, po);
  std::printf("model %s loaded in %.0f ms\n", model.c_str(), pipeline->load_ms());
  GenerateOptions gen;
  gen.max_tokens = max_tokens;
  gen.ignore_eos = true;  // every image decodes the same number of tokens
  const ImageOptions io;

  struct Decoded {
    Image image;
    double ms = 0;
  };
  auto decode = [](std::string path) {
    const auto t = Clock::now();
    Decoded d{load_image(path), 0};
    d.ms = ms_since(t);
    return d;
  };
  std::map<std::string, Split> by_kind;
  Split total;
  const auto start = Clock::now();
  std::future<Decoded> next = std::async(std::launch::async, decode, images[0].second);
  for (size_t i = 0; i < images.size(); ++i) {
    const auto w = Clock::now();
    Decoded d = next.get();
    const double wait = ms_since(w);  // decode time not hidden behind the previous image
    if (i + 1 < images.size()) next = std::async(std::launch::async, decode, images[i + 1].second);
    const GenerateResult r = pipeline->generate(d.image, "Describe the image.", gen, io, {}, false);
    for (Split* s : {&by_kind[images[i].first], &total}) {
      s->read_decode += d.ms;
      s->wait += wait;
      s->preprocess += r.timing.preprocess;
      s->encode += r.timing.encode;
      s->prefill += r.timing.prefill;
      s->decode += r.timing.decode;
      s->tokens += int(r.token_ids.size());
      ++s->images;
    }
  }
  const double wall = ms_since(start);
  std::printf(
      "\nper image, ms (img-dec = file read + codec, on the prefetch thread; wait = the part of it the\n"
      "model waited for; preproc = resize/pad/normalize; tok-dec = decoding %d tokens)\n",
      max_tokens);
  std::printf("%-11s %4s %9s %9s %9s %9s %9s %9s %8s\n", "kind", "n", "img-dec", "wait", "preproc", "encode",
              "prefill", "tok-dec", "img/s");
  for (const auto& [kind, s] : by_kind) print_row(kind.c_str(), s, 0);
  print_row("all", total, wall);
  std::printf("\n%d images in %.2f s: %.3f images/s, %.1f generated tokens/s\n", total.images, wall / 1000,
              total.images / wall * 1000, total.tokens / wall * 1000);
  if (dir_arg.empty()) fs::remove_all(dir);
  return 0;
}
