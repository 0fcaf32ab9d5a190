// Image preparation timings: a 12 MP photo (4000x3000) to the model input, per mode, and the
// resampler's two passes with 1 and all threads. Prints figures; asserts nothing.
//   build/bench_image [resolution=1024] [repeats=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "core/image.h"
#include "core/image_prep.h"
#include "core/parallel.h"
#include "core/resize_pillow.h"

using namespace fvlm;

namespace {

double best_ms(int repeats, const std::function<void()>& fn) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

Image photo_like(int w, int h) {  // smooth gradients + noise: a stand-in for a photo
  Image im = Image::black(w, h);
  std::mt19937 rng(1);
  for (int y = 0; y < h; ++y) {
    uint8_t* p = im.row(y);
    for (int x = 0; x < w; ++x, p += 3) {
      const int n = int(rng() >> 28);
      p[0] = uint8_t((x * 255 / w + n) & 255);
      p[1] = uint8_t((y * 255 / h + n) & 255);
      p[2] = uint8_t(((x + y) * 255 / (w + h)) ^ n);
    }
  }
  return im;
}

}  // namespace

int main(int argc, char** argv) {
  const int res = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const int threads = num_threads();
  const Image photo = photo_like(4000, 3000);
  std::printf("image preparation, 4000x3000 RGB -> %d, best of %d, %d threads\n", res, repeats, threads);
  std::printf("%-44s %10s\n", "step", "ms");
  auto row = [&](const char* name, const std::function<void()>& fn) {
    const double ms = best_ms(repeats, fn);
    std::printf("%-44s %10.2f\n", name, ms);
    return ms;
  };
  const double pad = row("pad_and_resize (fused, pad mode)", [&] { pad_and_resize(photo, res); });
  row("pad_to_square + resize_bicubic (unfused)", [&] { resize_bicubic(pad_to_square(photo), res, res); });
  row("resize_and_center_crop (crop mode)", [&] { resize_and_center_crop(photo, res); });
  row("to_pixel_values", [&, img = pad_and_resize(photo, res)] { to_pixel_values(img); });
  row("prepare_image(pad) total", [&] { prepare_image(photo, ImageMode::kPad, res); });
  row("prepare_image(tiles) total", [&] { prepare_image(photo, ImageMode::kTiles, res); });
  const ResampleAxis h = bicubic_axis(4000, res), v = bicubic_axis(3000, res * 3 / 4);
  set_num_threads(1);
  const double one = row("resize 4000x3000 -> R x 3R/4, 1 thread", [&] { resample_separable(photo, h, v); });
  set_num_threads(threads);
  const double all =
      row("resize 4000x3000 -> R x 3R/4, all threads", [&] { resample_separable(photo, h, v); });
  row("scalar reference (1 thread, same resize)", [&] { resample_separable_ref(photo, h, v); });
  std::printf("thread speed-up %.2fx; pad mode at %.1f Mpixel/s of source\n", one / all, 12.0 / pad * 1000);
  return 0;
}
