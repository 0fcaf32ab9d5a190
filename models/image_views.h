// From a decoded image to the encoder's input views: one [1,3,R,R] view for pad/crop, or the
// AnyRes global view + tiles [1+C*R,3,R,R] for tiles mode, as the model's config and the user's
// options say.
#pragma once
#include "core/anyres.h"
#include "core/image_prep.h"
#include "core/tensor.h"
#include "models/config.h"
#include "models/pipeline.h"

namespace fvlm {

struct ImageViews {
  Tensor pixels;  // F32 [views, 3, R, R]
  ImageMode mode = ImageMode::kPad;
  int resolution = 0;
  int grid_cols = 0, grid_rows = 0;  // tiles only
};

// `config` may be null when opts.resolution is set (preprocess without a model): then the mode
// is opts.mode and tiles use the default pinpoints.
ImageViews make_image_views(const Image& image, const ImageOptions& opts, const ModelConfig* config);

}  // namespace fvlm
