// Pillow-exact antialiased bicubic resize of 8-bit RGB (Pillow 9.4 `libImaging/Resample.c`,
// `Image.resize(size, Resampling.BICUBIC)`, reducing_gap=None): the resampler behind the golden
// `resized_u8` tensors. Bit-exact, including Pillow's fixed-point coefficients and the 8-bit
// rounding between the horizontal and the vertical pass.
//
// The general entry point also pastes the source onto a black canvas and computes only a window
// of the output, so that pad-to-square + resize and resize + centre-crop never materialise the
// padded or the uncropped image. Both are exact: black pixels add nothing to Pillow's integer
// sums, and every output pixel depends only on its own coefficients.
#pragma once
#include <cstdint>
#include <vector>

#include "core/image.h"

namespace fvlm {

// Fixed-point fraction bits of the resampling weights: 8 bits for the result, 2 for the
// overshoot of negative lobes (Resample.c `#define PRECISION_BITS (32 - 8 - 2)`).
inline constexpr int kPrecisionBits = 32 - 8 - 2;

// One axis of a separable resample: output index i is the weighted sum of `count[i]` source
// samples starting at `first[i]` (Pillow's bounds[2i], bounds[2i+1]), with weights
// weights[i * taps + t] in fixed point (Pillow's normalize_coeffs_8bpc output).
struct ResampleAxis {
  int in_size = 0, out_size = 0;
  int taps = 0;                   // Pillow's ksize: the stride of `weights`
  std::vector<int> first, count;  // [out_size]
  std::vector<int32_t> weights;   // [out_size * taps]
};

// Pillow's precompute_coeffs(in_size, 0, in_size, out_size, BICUBIC) + normalize_coeffs_8bpc.
ResampleAxis bicubic_axis(int in_size, int out_size);
// The axis of a pass Pillow skips (need_horizontal/need_vertical false): out[i] = in[i].
ResampleAxis identity_axis(int size);
// For a source that covers only [lo, hi) of the axis (the rest is black padding): drops the
// taps outside, and renumbers source indices from lo.
ResampleAxis restrict_axis(const ResampleAxis& a, int lo, int hi);
// Keeps output indices [begin, end) only (a crop of the resized image).
ResampleAxis slice_axis(const ResampleAxis& a, int begin, int end);

// Pillow's two passes with the given axes: horizontal first (over the source rows the vertical
// pass reads), clipped to 8 bits, then vertical. h indexes source columns, v source rows.
// Result: h.out_size x v.out_size. Uses parallel_for.
Image resample_separable(const Image& src, const ResampleAxis& h, const ResampleAxis& v);
// The plain scalar reference of resample_separable (single-threaded, the spec).
Image resample_separable_ref(const Image& src, const ResampleAxis& h, const ResampleAxis& v);

// `Image.resize((out_w, out_h), BICUBIC)`.
Image resize_bicubic(const Image& src, int out_w, int out_h);

// `src` pasted at (x, y) on a black canvas_w x canvas_h canvas (src must fit inside).
struct Placement {
  int canvas_w = 0, canvas_h = 0, x = 0, y = 0;
};
// A rectangle of the resized output.
struct Window {
  int x = 0, y = 0, w = 0, h = 0;
};
// The canvas resized to out_w x out_h with Pillow bicubic, then cropped to `window`
// (which must lie inside the output). Equals resize_bicubic(pasted canvas).crop(window) exactly.
Image resize_bicubic(const Image& src, const Placement& canvas, int out_w, int out_h, const Window& window);

}  // namespace fvlm
