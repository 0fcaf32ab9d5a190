// LLaVA-NeXT "AnyRes" tiling, as apple/ml-fastvlm `llava/mm_utils.py` implements it
// (select_best_resolution, resize_and_pad_image, divide_to_patches, process_anyres_image).
// Released FastVLM checkpoints do not use it (image_aspect_ratio "pad"); it is the `tiles`
// image mode (shared/fastvlm-reference.md section 7).
#pragma once
#include <vector>

#include "core/image.h"

namespace fvlm {

struct Resolution {
  int width = 0, height = 0;
  bool operator==(const Resolution&) const = default;
};

// The views the encoder sees, each R x R: views[0] is the global view (the whole image squashed
// to R x R, `image.resize((shortest_edge, shortest_edge))`), then grid_rows * grid_cols tiles of
// the resized-and-padded image in row-major order.
struct AnyresViews {
  std::vector<Image> views;
  int grid_cols = 0, grid_rows = 0;
};

// select_best_resolution(original_size, possible_resolutions): the candidate that keeps the most
// effective pixels (min(downscaled area, original area)), ties broken by the least wasted area;
// the first candidate wins exact ties. Floating point as Python does it (double, int() truncates).
Resolution select_best_resolution(Resolution original, const std::vector<Resolution>& candidates);

// resize_and_pad_image: aspect-preserving Pillow-bicubic resize to fit `target` (the fitted side
// exactly, the other min(ceil(side * scale), target)), pasted centred on a black target canvas.
Image resize_and_pad_image(const Image& img, Resolution target);

// divide_to_patches: patch x patch crops in row-major order; parts beyond the image are black
// (PIL crop semantics).
std::vector<Image> divide_to_patches(const Image& img, int patch);

// LLaVA-NeXT's default grid_pinpoints [[336,672],[672,336],[672,672],[1008,336],[336,1008]]
// with 336 replaced by `resolution`: grids 1x2, 2x1, 2x2, 3x1, 1x3.
std::vector<Resolution> anyres_default_pinpoints(int resolution);

// process_anyres_image for an encoder of input size `resolution` (= crop size = shortest edge).
// Pinpoints need not be multiples of `resolution`; grid = ceil(best / resolution).
AnyresViews process_anyres_image(const Image& img, int resolution, const std::vector<Resolution>& pinpoints);
// `--grid CxR`: the single pinpoint {cols * resolution, rows * resolution}.
AnyresViews process_anyres_grid(const Image& img, int resolution, int cols, int rows);

}  // namespace fvlm
