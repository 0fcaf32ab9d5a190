// The two passes of the Pillow-exact resampler (core/resize_pillow.h), one scalar reference and
// an AVX2 variant each; resample_separable picks the variant once, from the CPU's features.
// Both compute Pillow's integer sums exactly (int32 products and sums, as Resample.c does), so
// their outputs are identical byte for byte.
#pragma once
#include "core/image.h"
#include "core/resize_pillow.h"

namespace fvlm::resize_kernels {

// ImagingResampleHorizontal_8bpc (3 bands) for rows [y0, y1) of `tmp`; tmp row y reads source
// row y + row_offset.
using HorizontalFn = void (*)(const Image& src, const ResampleAxis& h, int row_offset, Image& tmp, int y0, int y1);
// ImagingResampleVertical_8bpc for output rows [y0, y1); v's source rows are shifted by
// -row_offset into `tmp`.
using VerticalFn = void (*)(const Image& tmp, const ResampleAxis& v, int row_offset, Image& out, int y0, int y1);

void horizontal_rows_ref(const Image& src, const ResampleAxis& h, int row_offset, Image& tmp, int y0, int y1);
void vertical_rows_ref(const Image& tmp, const ResampleAxis& v, int row_offset, Image& out, int y0, int y1);
void horizontal_rows_avx2(const Image& src, const ResampleAxis& h, int row_offset, Image& tmp, int y0, int y1);
void vertical_rows_avx2(const Image& tmp, const ResampleAxis& v, int row_offset, Image& out, int y0, int y1);

}  // namespace fvlm::resize_kernels
