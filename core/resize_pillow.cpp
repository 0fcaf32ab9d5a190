#include "core/resize_pillow.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/resize_pillow_kernels.h"

namespace fvlm {
namespace {

// Resample.c bicubic_filter, a = -0.5, support 2. Evaluated in the same operation order as
// Pillow (compiled without FMA contraction: this file gets no -mfma), so the double results match.
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;  // ((a+2)x - (a+3)) x^2 + 1
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;          // (((x-5)x + 8)x - 4) a
  return 0.0;
}
constexpr double kBicubicSupport = 2.0;

// Pillow's clip8: the table lookup clip8_lookups[in >> PRECISION_BITS] over [-640, 640)
// is a floor shift clamped to [0, 255].
inline uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;
  return uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}
constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);  // ss0 = 1 << (PRECISION_BITS - 1)

// Source rows [lo, hi) that the vertical axis reads (Pillow's ybox_first / ybox_last).
std::pair<int, int> rows_used(const ResampleAxis& v) {
  int lo = v.in_size, hi = 0;
  for (int i = 0; i < v.out_size; ++i) {
    if (v.count[i] == 0) continue;
    lo = std::min(lo, v.first[i]);
    hi = std::max(hi, v.first[i] + v.count[i]);
  }
  return lo < hi ? std::pair{lo, hi} : std::pair{0, 0};
}

void check_axes(const Image& src, const ResampleAxis& h, const ResampleAxis& v) {
  FVLM_CHECK(h.in_size == src.width && v.in_size == src.height,
             fmt::format("axes {}x{} for a {}x{} image", h.in_size, v.in_size, src.width, src.height));
  FVLM_CHECK(src.rgb.size() == size_t(src.width) * size_t(src.height) * 3, "image buffer size");
}

// Picked once (the variants are bit-identical).
struct PassKernels {
  resize_kernels::HorizontalFn horizontal;
  resize_kernels::VerticalFn vertical;
};
const PassKernels& pass_kernels() {
  static const PassKernels k{pick("resize_horizontal", resize_kernels::horizontal_variants()).fn,
                             pick("resize_vertical", resize_kernels::vertical_variants()).fn};
  return k;
}

}  // namespace

namespace resize_kernels {
namespace {
constexpr Variant<HorizontalFn> kHorizontal[] = {
    {"ref", CpuFeature::kNone, horizontal_rows_ref},
    {"avx2", CpuFeature::kAvx2, horizontal_rows_avx2},
};
constexpr Variant<VerticalFn> kVertical[] = {
    {"ref", CpuFeature::kNone, vertical_rows_ref},
    {"avx2", CpuFeature::kAvx2, vertical_rows_avx2},
};
}  // namespace

std::span<const Variant<HorizontalFn>> horizontal_variants() { return kHorizontal; }
std::span<const Variant<VerticalFn>> vertical_variants() { return kVertical; }

PixelsView view(const Image& im) { return {im.rgb.data(), im.width, im.height}; }
MutablePixelsView mutable_view(Image& im) { return {im.rgb.data(), im.width, im.height}; }
AxisView view(const ResampleAxis& a) {
  return {a.in_size, a.out_size, a.taps, a.first.data(), a.count.data(), a.weights.data()};
}

void horizontal_rows_ref(PixelsView src, const AxisView& h, int row_offset, MutablePixelsView tmp, int y0,
                         int y1) {
  for (int y = y0; y < y1; ++y) {
    const uint8_t* in = src.data + size_t(y + row_offset) * size_t(src.width) * 3;
    uint8_t* out = tmp.data + size_t(y) * size_t(tmp.width) * 3;
    for (int xx = 0; xx < h.out_size; ++xx) {
      const uint8_t* p = in + size_t(h.first[xx]) * 3;
      const int32_t* k = &h.weights[size_t(xx) * h.taps];
      int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
      for (int t = 0; t < h.count[xx]; ++t, p += 3) {  // ss0 += in[(x + xmin) * 4 + c] * k[x]
        s0 += int32_t(p[0]) * k[t];
        s1 += int32_t(p[1]) * k[t];
        s2 += int32_t(p[2]) * k[t];
      }
      out[xx * 3 + 0] = clip8(s0);
      out[xx * 3 + 1] = clip8(s1);
      out[xx * 3 + 2] = clip8(s2);
    }
  }
}

// Accumulates whole rows so that the inner loop runs over contiguous bytes.
void vertical_rows_ref(PixelsView tmp, const AxisView& v, int row_offset, MutablePixelsView out, int y0,
                       int y1) {
  const size_t n = size_t(out.width) * 3, tmp_stride = size_t(tmp.width) * 3;
  std::vector<int32_t> acc(n);
  for (int yy = y0; yy < y1; ++yy) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int32_t* k = &v.weights[size_t(yy) * v.taps];
    for (int t = 0; t < v.count[yy]; ++t) {  // ss0 += in[y + ymin][xx * 4 + c] * k[y]
      const uint8_t* in = tmp.data + size_t(v.first[yy] - row_offset + t) * tmp_stride;
      const int32_t w = k[t];
      for (size_t i = 0; i < n; ++i) acc[i] += int32_t(in[i]) * w;
    }
    uint8_t* o = out.data + size_t(yy) * n;
    for (size_t i = 0; i < n; ++i) o[i] = clip8(acc[i]);
  }
}

}  // namespace resize_kernels

ResampleAxis bicubic_axis(int in_size, int out_size) {
  FVLM_CHECK(in_size > 0 && out_size > 0, fmt::format("resize {} -> {}", in_size, out_size));
  ResampleAxis a;
  a.in_size = in_size;
  a.out_size = out_size;
  // precompute_coeffs(inSize, in0 = 0, in1 = inSize, outSize): box edges are floats in Pillow.
  const float in0 = 0.0f, in1 = float(in_size);
  double scale = double(in1 - in0) / out_size;           // filterscale = scale = (in1 - in0) / outSize
  const double filterscale = scale < 1.0 ? 1.0 : scale;  // if (filterscale < 1.0) filterscale = 1.0
  const double support = kBicubicSupport * filterscale;  // support = filterp->support * filterscale
  a.taps = int(std::ceil(support)) * 2 + 1;              // ksize = (int)ceil(support) * 2 + 1
  a.first.resize(out_size);
  a.count.resize(out_size);
  a.weights.assign(size_t(out_size) * a.taps, 0);
  std::vector<double> k(a.taps);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;  // center = in0 + (xx + 0.5) * scale
    const double ss = 1.0 / filterscale;             // ss = 1.0 / filterscale
    int xmin = int(center - support + 0.5);          // xmin = (int)(center - support + 0.5)
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);  // xmax = (int)(center + support + 0.5)
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w =
          bicubic_filter((x + xmin - center + 0.5) * ss);  // filter((x + xmin - center + 0.5) * ss)
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[x] /= ww;      // k[x] /= ww
    for (int x = 0; x < xmax; ++x) {  // normalize_coeffs_8bpc: round half away from 0
      const double f = k[x] * (1 << kPrecisionBits);
      a.weights[size_t(xx) * a.taps + x] = f < 0 ? int32_t(-0.5 + f) : int32_t(0.5 + f);
    }
    a.first[xx] = xmin;
    a.count[xx] = xmax;
  }
  return a;
}

ResampleAxis identity_axis(int size) {
  ResampleAxis a;
  a.in_size = a.out_size = size;
  a.taps = 1;
  a.first.resize(size);
  a.count.assign(size, 1);
  a.weights.assign(size, int32_t(1) << kPrecisionBits);
  for (int i = 0; i < size; ++i) a.first[i] = i;
  return a;
}

ResampleAxis restrict_axis(const ResampleAxis& a, int lo, int hi) {
  FVLM_CHECK(0 <= lo && lo <= hi && hi <= a.in_size,
             fmt::format("restrict [{}, {}) of {}", lo, hi, a.in_size));
  ResampleAxis r = a;
  r.in_size = hi - lo;
  for (int i = 0; i < a.out_size; ++i) {
    const int begin = std::max(a.first[i], lo), end = std::min(a.first[i] + a.count[i], hi);
    int32_t* k = &r.weights[size_t(i) * r.taps];
    const int32_t* src_k = &a.weights[size_t(i) * a.taps];
    const int n = std::max(0, end - begin);
    for (int t = 0; t < r.taps; ++t) k[t] = t < n ? src_k[begin - a.first[i] + t] : 0;
    r.first[i] = n > 0 ? begin - lo : 0;
    r.count[i] = n;
  }
  return r;
}

ResampleAxis slice_axis(const ResampleAxis& a, int begin, int end) {
  FVLM_CHECK(0 <= begin && begin <= end && end <= a.out_size,
             fmt::format("slice [{}, {}) of {}", begin, end, a.out_size));
  ResampleAxis r;
  r.in_size = a.in_size;
  r.out_size = end - begin;
  r.taps = a.taps;
  r.first.assign(a.first.begin() + begin, a.first.begin() + end);
  r.count.assign(a.count.begin() + begin, a.count.begin() + end);
  r.weights.assign(a.weights.begin() + size_t(begin) * a.taps, a.weights.begin() + size_t(end) * a.taps);
  return r;
}

Image resample_separable_ref(const Image& src, const ResampleAxis& h, const ResampleAxis& v) {
  check_axes(src, h, v);
  const auto [lo, hi] = rows_used(v);
  using namespace resize_kernels;
  Image tmp = Image::black(h.out_size, hi - lo);
  horizontal_rows_ref(view(src), view(h), lo, mutable_view(tmp), 0, tmp.height);
  Image out = Image::black(h.out_size, v.out_size);
  vertical_rows_ref(view(tmp), view(v), lo, mutable_view(out), 0, out.height);
  return out;
}

Image resample_separable(const Image& src, const ResampleAxis& h, const ResampleAxis& v) {
  check_axes(src, h, v);
  const auto [lo, hi] = rows_used(v);
  using namespace resize_kernels;
  Image tmp = Image::black(h.out_size, hi - lo);
  const PassKernels& k = pass_kernels();
  const AxisView hv = view(h), vv = view(v);
  parallel_for(tmp.height, 16, [&](int64_t b, int64_t e) {
    k.horizontal(view(src), hv, lo, mutable_view(tmp), int(b), int(e));
  });
  Image out = Image::black(h.out_size, v.out_size);
  parallel_for(out.height, 16, [&](int64_t b, int64_t e) {
    k.vertical(view(tmp), vv, lo, mutable_view(out), int(b), int(e));
  });
  return out;
}

Image resize_bicubic(const Image& src, int out_w, int out_h) {
  return resize_bicubic(src, Placement{src.width, src.height, 0, 0}, out_w, out_h,
                        Window{0, 0, out_w, out_h});
}

Image resize_bicubic(const Image& src, const Placement& canvas, int out_w, int out_h, const Window& window) {
  FVLM_CHECK(canvas.x >= 0 && canvas.y >= 0 && canvas.x + src.width <= canvas.canvas_w &&
                 canvas.y + src.height <= canvas.canvas_h,
             fmt::format("{}x{} image at ({}, {}) on a {}x{} canvas", src.width, src.height, canvas.x,
                         canvas.y, canvas.canvas_w, canvas.canvas_h));
  FVLM_CHECK(window.x >= 0 && window.y >= 0 && window.w > 0 && window.h > 0 && window.x + window.w <= out_w &&
                 window.y + window.h <= out_h,
             "window outside the output");
  // Pillow skips a pass whose size does not change (need_horizontal / need_vertical).
  auto axis = [](int in, int out) { return in == out ? identity_axis(in) : bicubic_axis(in, out); };
  ResampleAxis h = axis(canvas.canvas_w, out_w);
  ResampleAxis v = axis(canvas.canvas_h, out_h);
  h = slice_axis(restrict_axis(h, canvas.x, canvas.x + src.width), window.x, window.x + window.w);
  v = slice_axis(restrict_axis(v, canvas.y, canvas.y + src.height), window.y, window.y + window.h);
  return resample_separable(src, h, v);
}

}  // namespace fvlm
