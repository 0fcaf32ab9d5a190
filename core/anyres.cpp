#include "core/anyres.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "core/error.h"
#include "core/image_prep.h"
#include "core/resize_pillow.h"

namespace fvlm {

Resolution select_best_resolution(Resolution original, const std::vector<Resolution>& candidates) {
  FVLM_CHECK(original.width > 0 && original.height > 0, "empty image");
  Resolution best{};
  int64_t max_effective = 0;                                 // max_effective_resolution = 0
  int64_t min_wasted = std::numeric_limits<int64_t>::max();  // min_wasted_resolution = inf
  const double ow = original.width, oh = original.height;
  for (const Resolution& c : candidates) {
    const double scale = std::min(c.width / ow, c.height / oh);        // min(width / ow, height / oh)
    const int64_t dw = int64_t(ow * scale), dh = int64_t(oh * scale);  // int(original_width * scale)
    const int64_t effective = std::min(dw * dh, int64_t(original.width) * original.height);
    const int64_t wasted = int64_t(c.width) * c.height - effective;  // width * height - effective
    if (effective > max_effective || (effective == max_effective && wasted < min_wasted)) {
      max_effective = effective;
      min_wasted = wasted;
      best = c;
    }
  }
  if (best.width <= 0 || best.height <= 0)
    throw Error(Errc::kBadArgs, "no usable grid pinpoint (all are empty)");
  return best;
}

Image resize_and_pad_image(const Image& img, Resolution target) {
  const double scale_w = double(target.width) / img.width;  // scale_w = target_width / original_width
  const double scale_h = double(target.height) / img.height;
  int new_w, new_h;
  if (scale_w < scale_h) {
    new_w = target.width;
    new_h = std::min(int(std::ceil(img.height * scale_w)), target.height);  // min(ceil(oh * scale_w), th)
  } else {
    new_h = target.height;
    new_w = std::min(int(std::ceil(img.width * scale_h)), target.width);
  }
  new_w = std::max(new_w, 1);  // Pillow would refuse a 0-sized resize; keep a 1-pixel sliver
  new_h = std::max(new_h, 1);
  const Image resized = resize_bicubic(img, new_w, new_h);  // image.resize((new_w, new_h)): BICUBIC default
  Image out = Image::black(target.width, target.height);    // Image.new('RGB', target, (0, 0, 0))
  const int x0 = (target.width - new_w) / 2, y0 = (target.height - new_h) / 2;  // paste_x, paste_y
  for (int y = 0; y < new_h; ++y)
    std::memcpy(out.row(y0 + y) + size_t(x0) * 3, resized.row(y), size_t(new_w) * 3);
  return out;
}

std::vector<Image> divide_to_patches(const Image& img, int patch) {
  FVLM_CHECK(patch > 0, "patch size");
  std::vector<Image> patches;
  for (int i = 0; i < img.height; i += patch) {   // for i in range(0, height, patch_size)
    for (int j = 0; j < img.width; j += patch) {  //   for j in range(0, width, patch_size)
      Image p = Image::black(patch, patch);       //     image.crop((j, i, j + p, i + p))
      const int w = std::min(patch, img.width - j), h = std::min(patch, img.height - i);
      for (int y = 0; y < h; ++y) std::memcpy(p.row(y), img.row(i + y) + size_t(j) * 3, size_t(w) * 3);
      patches.push_back(std::move(p));
    }
  }
  return patches;
}

std::vector<Resolution> anyres_default_pinpoints(int resolution) {
  const int r = resolution;
  return {{r, 2 * r}, {2 * r, r}, {2 * r, 2 * r}, {3 * r, r}, {r, 3 * r}};
}

AnyresViews process_anyres_image(const Image& img, int resolution, const std::vector<Resolution>& pinpoints) {
  check_resolution(resolution);
  if (img.width <= 0 || img.height <= 0) throw Error(Errc::kBadImage, "empty image");
  if (pinpoints.empty()) throw Error(Errc::kBadArgs, "no grid pinpoints");
  const Resolution best = select_best_resolution({img.width, img.height}, pinpoints);
  const Image padded = resize_and_pad_image(img, best);
  AnyresViews out;
  out.grid_cols = (best.width + resolution - 1) / resolution;
  out.grid_rows = (best.height + resolution - 1) / resolution;
  // image_original_resize = image.resize((shortest_edge, shortest_edge)): squashed, not padded.
  // The processor's own shortest-edge resize and centre crop are then no-ops on R x R views.
  out.views.push_back(resize_bicubic(img, resolution, resolution));
  for (Image& p : divide_to_patches(padded, resolution)) out.views.push_back(std::move(p));
  return out;
}

AnyresViews process_anyres_grid(const Image& img, int resolution, int cols, int rows) {
  if (cols <= 0 || rows <= 0 || cols > 16 || rows > 16)
    throw Error(Errc::kBadArgs, fmt::format("grid {}x{}: columns and rows must be in 1..16", cols, rows));
  return process_anyres_image(img, resolution, {{cols * resolution, rows * resolution}});
}

}  // namespace fvlm
