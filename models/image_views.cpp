#include "models/image_views.h"

#include "core/error.h"

namespace fvlm {

ImageViews make_image_views(const Image& image, const ImageOptions& opts, const ModelConfig* config) {
  ImageViews v;
  v.resolution = opts.resolution ? opts.resolution : config ? config->vision.image_size : 0;
  FVLM_CHECK(v.resolution > 0, "no resolution");
  check_resolution(v.resolution);
  const int R = v.resolution;
  v.mode = opts.mode;
  // A checkpoint trained with AnyRes (image_aspect_ratio "anyres...") gets tiles unless the user chose.
  if (opts.mode_from_config && config && config->image_aspect_ratio.find("anyres") != std::string::npos)
    v.mode = ImageMode::kTiles;
  if (v.mode != ImageMode::kTiles) {
    v.pixels = prepare_image(image, v.mode, R).reshaped({1, 3, R, R});
    return v;
  }
  AnyresViews views;
  if (opts.grid_cols > 0) {
    views = process_anyres_grid(image, R, opts.grid_cols, opts.grid_rows);
  } else {
    std::vector<Resolution> pins;
    if (config)
      for (const auto& p : config->image_grid_pinpoints) pins.push_back({p[0], p[1]});
    if (pins.empty()) pins = anyres_default_pinpoints(R);
    views = process_anyres_image(image, R, pins);
  }
  v.grid_cols = views.grid_cols;
  v.grid_rows = views.grid_rows;
  v.pixels = stack_pixel_values(views.views, R);
  return v;
}

}  // namespace fvlm
