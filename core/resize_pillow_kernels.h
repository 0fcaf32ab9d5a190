// The two passes of the Pillow-exact resampler (core/resize_pillow.h), one scalar reference and
// an AVX2 variant each, in one variant table per pass (core/dispatch.h); resample_separable picks
// once. Both compute Pillow's integer sums exactly (int32 products and sums, as Resample.c does),
// so their outputs are identical byte for byte.
//
// The kernels see plain views, not Image / ResampleAxis: those hold std::vector, and an AVX2 file
// that called their inline members could leave its AVX2 copy of them to the whole program.
#pragma once
#include <cstdint>
#include <span>

#include "core/dispatch.h"
#include "core/image.h"
#include "core/resize_pillow.h"

namespace fvlm::resize_kernels {

// An RGB image: height rows of width * 3 bytes.
struct PixelsView {
  const uint8_t* data;
  int width, height;
};
struct MutablePixelsView {
  uint8_t* data;
  int width, height;
};
// A ResampleAxis (first/count: [out_size], weights: [out_size * taps]).
struct AxisView {
  int in_size, out_size, taps;
  const int* first;
  const int* count;
  const int32_t* weights;
};

PixelsView view(const Image& im);
MutablePixelsView mutable_view(Image& im);
AxisView view(const ResampleAxis& a);

// ImagingResampleHorizontal_8bpc (3 bands) for rows [y0, y1) of `tmp`; tmp row y reads source
// row y + row_offset.
using HorizontalFn = void (*)(PixelsView src, const AxisView& h, int row_offset, MutablePixelsView tmp,
                              int y0, int y1);
// ImagingResampleVertical_8bpc for output rows [y0, y1); v's source rows are shifted by
// -row_offset into `tmp`.
using VerticalFn = void (*)(PixelsView tmp, const AxisView& v, int row_offset, MutablePixelsView out, int y0,
                            int y1);

void horizontal_rows_ref(PixelsView src, const AxisView& h, int row_offset, MutablePixelsView tmp, int y0,
                         int y1);
void vertical_rows_ref(PixelsView tmp, const AxisView& v, int row_offset, MutablePixelsView out, int y0,
                       int y1);
void horizontal_rows_avx2(PixelsView src, const AxisView& h, int row_offset, MutablePixelsView tmp, int y0,
                          int y1);
void vertical_rows_avx2(PixelsView tmp, const AxisView& v, int row_offset, MutablePixelsView out, int y0,
                        int y1);

// "ref" first, then "avx2".
std::span<const Variant<HorizontalFn>> horizontal_variants();
std::span<const Variant<VerticalFn>> vertical_variants();

}  // namespace fvlm::resize_kernels
