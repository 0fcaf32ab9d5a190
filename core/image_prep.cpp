#include "core/image_prep.h"

#include <cstring>

#include <fmt/format.h>

#include "core/anyres.h"
#include "core/error.h"
#include "core/resize_pillow.h"

namespace fvlm {
namespace {

// transformers `rescale`: image.astype(float64) * 0.00392156862745098, then cast to float32.
// The value depends only on the byte, so it is a 256-entry table.
struct RescaleTable {
  float v[256];
  RescaleTable() {
    const double scale = 1 / 255.0;  // rescale_factor 0.00392156862745098
    for (int i = 0; i < 256; ++i) v[i] = float(double(i) * scale);
  }
};

// HWC u8 -> CHW f32 into dst [3, h, w].
void write_pixel_values(const Image& img, float* dst) {
  static const RescaleTable table;
  const size_t plane = size_t(img.width) * size_t(img.height);
  const uint8_t* p = img.rgb.data();
  for (size_t i = 0; i < plane; ++i, p += 3) {
    dst[i] = table.v[p[0]];
    dst[plane + i] = table.v[p[1]];
    dst[2 * plane + i] = table.v[p[2]];
  }
}

}  // namespace

std::string_view image_mode_name(ImageMode m) {
  switch (m) {
    case ImageMode::kPad:
      return "pad";
    case ImageMode::kCrop:
      return "crop";
    case ImageMode::kTiles:
      return "tiles";
  }
  return "pad";
}

void check_resolution(int resolution) {
  if (resolution <= 0 || resolution % 64 != 0)
    throw Error(Errc::kBadArgs, fmt::format("resolution {} is not a positive multiple of 64", resolution),
                {{"resolution", resolution}});
}

Image pad_to_square(const Image& img) {
  const int side = std::max(img.width, img.height);  // expand2square: side = max(width, height)
  Image out = Image::black(side, side);              // background_color = image_mean * 255 = black
  const int x0 = (side - img.width) / 2, y0 = (side - img.height) / 2;  // paste at ((side-w)//2, (side-h)//2)
  for (int y = 0; y < img.height; ++y)
    std::memcpy(out.row(y0 + y) + size_t(x0) * 3, img.row(y), size_t(img.width) * 3);
  return out;
}

Image pad_and_resize(const Image& img, int side) {
  const int sq = std::max(img.width, img.height);
  const Placement canvas{sq, sq, (sq - img.width) / 2, (sq - img.height) / 2};
  return resize_bicubic(img, canvas, side, side, Window{0, 0, side, side});
}

Image resize_and_center_crop(const Image& img, int side) {
  // get_resize_output_image_size(default_to_square=False): short, long = sorted(w, h)
  const bool portrait = img.width <= img.height;
  const int64_t shorter = portrait ? img.width : img.height, longer = portrait ? img.height : img.width;
  const int new_long = int(double(int64_t(side) * longer) / double(shorter));  // int(size * long / short)
  const int new_w = portrait ? side : new_long, new_h = portrait ? new_long : side;
  // center_crop: top = (h - crop_h) // 2, left = (w - crop_w) // 2
  const Window crop{(new_w - side) / 2, (new_h - side) / 2, side, side};
  return resize_bicubic(img, Placement{img.width, img.height, 0, 0}, new_w, new_h, crop);
}

Tensor to_pixel_values(const Image& img) {
  Tensor t = Tensor::zeros(DType::F32, {3, img.height, img.width});
  write_pixel_values(img, t.f32());
  return t;
}

Tensor stack_pixel_values(const std::vector<Image>& views, int resolution) {
  Tensor t = Tensor::zeros(DType::F32, {int64_t(views.size()), 3, resolution, resolution});
  const size_t per_view = size_t(3) * resolution * resolution;
  for (size_t i = 0; i < views.size(); ++i) {
    FVLM_CHECK(views[i].width == resolution && views[i].height == resolution, "view is not R x R");
    write_pixel_values(views[i], t.f32() + i * per_view);
  }
  return t;
}

Tensor prepare_image(const Image& img, ImageMode mode, int resolution) {
  check_resolution(resolution);
  if (img.width <= 0 || img.height <= 0) throw Error(Errc::kBadImage, "empty image");
  switch (mode) {
    case ImageMode::kPad:
      return to_pixel_values(pad_and_resize(img, resolution));
    case ImageMode::kCrop:
      return to_pixel_values(resize_and_center_crop(img, resolution));
    case ImageMode::kTiles: {
      const AnyresViews v = process_anyres_image(img, resolution, anyres_default_pinpoints(resolution));
      return stack_pixel_values(v.views, resolution);
    }
  }
  return {};
}

}  // namespace fvlm
