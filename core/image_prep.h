// From a decoded RGB image to the vision tower's input tensor, as the reference prepares it:
//   pad:  llava.mm_utils.process_images(image_aspect_ratio="pad") = expand2square(black) then
//         CLIPImageProcessor (shortest-edge bicubic resize to R, centre crop R, x 1/255, CHW);
//   crop: CLIPImageProcessor alone (no padding: what the HF model card and the Apple app do);
//   tiles: LLaVA-NeXT AnyRes (core/anyres.h): a global view + R x R tiles.
// shared/golden/README.md "Pipeline conventions" 2-3 and shared/fastvlm-reference.md 4.1.
#pragma once
#include <string_view>
#include <vector>

#include "core/image.h"
#include "core/tensor.h"

namespace fvlm {

enum class ImageMode { kPad, kCrop, kTiles };

std::string_view image_mode_name(ImageMode m);

// Throws Error{kBadArgs} unless `resolution` is a positive multiple of 64 (the encoder's stride).
void check_resolution(int resolution);

// expand2square(img, (0,0,0)): black square canvas of side max(w, h), image pasted at
// ((side - w) / 2, (side - h) / 2).
Image pad_to_square(const Image& img);

// pad_to_square then Pillow-bicubic resize to side x side (fused: the padded canvas is never
// built; bit-exact with the two steps).
Image pad_and_resize(const Image& img, int side);

// CLIPImageProcessor.resize with size={"shortest_edge": side} (transformers
// get_resize_output_image_size, default_to_square=False: short side -> side, long side ->
// int(side * long / short)) then center_crop(side, side) (top = (h - side) // 2,
// left = (w - side) // 2). Only the crop window is computed.
Image resize_and_center_crop(const Image& img, int side);

// [3, H, W] float32 CHW, value = float32(double(u8) * (1 / 255.0)) (transformers `rescale` in
// float64 then cast; mean 0 / std 1 normalisation is the identity). Bit-exact with the golden
// pixel_values.
Tensor to_pixel_values(const Image& img);
// Several R x R views (AnyRes global view + tiles) stacked as F32 [views, 3, R, R].
Tensor stack_pixel_values(const std::vector<Image>& views, int resolution);

// pad / crop: [3, R, R]. tiles: [1 + cols * rows, 3, R, R] (global view first, then tiles in
// row-major order) with the default LLaVA-NeXT pinpoints (anyres_default_pinpoints).
Tensor prepare_image(const Image& img, ImageMode mode, int resolution);

}  // namespace fvlm
