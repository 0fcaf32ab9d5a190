// AVX2 variants of the resampler's two passes. Same int32 arithmetic as the scalar reference
// (core/resize_pillow.cpp): products u8 * weight and their sums fit in int32 exactly as in
// Pillow, _mm256_mullo_epi32 keeps them whole, and srai + packs + packus is Pillow's clip8
// (floor shift, clamp to [0, 255]). Tested byte-for-byte against the reference.
// An ISA island (style.md): helpers live in fvlm::avx2's anonymous namespace, and nothing inline
// from a shared header is called (no std::vector, no Image::row).
#include <immintrin.h>

#include <cstring>

#include "core/resize_pillow_kernels.h"
#include "core/simd_avx2.h"

namespace fvlm::avx2 {
namespace {

constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

// Four int32 lanes (R, G, B, unused) -> the three clipped bytes of one pixel.
inline void store_pixel(__m128i acc, uint8_t* out) {
  const __m128i v = _mm_srai_epi32(acc, kPrecisionBits);
  const __m128i b = _mm_packus_epi16(_mm_packs_epi32(v, v), _mm_setzero_si128());
  const uint32_t px = uint32_t(_mm_cvtsi128_si32(b));
  std::memcpy(out, &px, 3);
}

// The horizontal pass takes taps two at a time: 8 source bytes R0 G0 B0 R1 G1 B1 R2 G2 widened to
// int32 and multiplied by [k0 k0 k0 k1 k1 k1 0 0]; lanes 0-2 and 3-5 are summed at the end.
// PairWeights holds those vectors for every output pixel, zero-filled past the last tap.
struct PairWeights {
  int pairs;               // per output pixel: ceil(taps / 2)
  ZeroedArray<int32_t> w;  // [out_size][pairs][8]
  explicit PairWeights(const resize_kernels::AxisView& h)
      : pairs((h.taps + 1) / 2), w(size_t(h.out_size) * size_t(pairs) * 8) {
    for (int xx = 0; xx < h.out_size; ++xx) {
      const int32_t* k = &h.weights[size_t(xx) * h.taps];
      int32_t* dst = &w.data[size_t(xx) * pairs * 8];
      for (int t = 0; t < h.count[xx]; ++t)
        for (int c = 0; c < 3; ++c) dst[(t / 2) * 8 + (t % 2) * 3 + c] = k[t];
    }
  }
};

// One output pixel; reads up to 5 bytes past the last tap (the caller guarantees they exist).
inline __m128i horizontal_pixel(const uint8_t* p, const int32_t* w, int count) {
  __m256i acc = _mm256_setzero_si256();
  for (int t = 0; t < count; t += 2, p += 6, w += 8) {
    const __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    acc = _mm256_add_epi32(acc,
                           _mm256_mullo_epi32(px, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))));
  }
  // lanes [R0 G0 B0 R1 G1 B1 0 0] -> [R0+R1, G0+G1, B0+B1, x]
  const __m128i lo = _mm256_castsi256_si128(acc);       // R0 G0 B0 R1
  const __m128i hi = _mm256_extracti128_si256(acc, 1);  // G1 B1 0 0
  const __m128i shifted = _mm_alignr_epi8(hi, lo, 12);  // R1 G1 B1 0
  return _mm_add_epi32(_mm_add_epi32(lo, shifted), _mm_set1_epi32(kHalf));
}

}  // namespace
}  // namespace fvlm::avx2

namespace fvlm::resize_kernels {
using namespace fvlm::avx2;

void horizontal_rows_avx2(PixelsView src, const AxisView& h, int row_offset, MutablePixelsView tmp, int y0,
                          int y1) {
  const PairWeights pw(h);
  const size_t src_stride = size_t(src.width) * 3, tmp_stride = size_t(tmp.width) * 3;
  const uint8_t* const buffer_end = src.data + src_stride * size_t(src.height);
  for (int y = y0; y < y1; ++y) {
    const uint8_t* in = src.data + size_t(y + row_offset) * src_stride;
    uint8_t* out = tmp.data + size_t(y) * tmp_stride;
    for (int xx = 0; xx < h.out_size; ++xx) {
      const int32_t* w = &pw.w.data[size_t(xx) * pw.pairs * 8];
      const uint8_t* p = in + size_t(h.first[xx]) * 3;
      const int count = h.count[xx];
      __m128i acc;
      if (p + size_t(count) * 3 + 5 <= buffer_end) {
        acc = horizontal_pixel(p, w, count);
      } else {  // the last pixels of the buffer: copy the taps so that the over-read stays inside
        const ZeroedArray<uint8_t> local(size_t(count) * 3 + 5);
        std::memcpy(local.data, p, size_t(count) * 3);
        acc = horizontal_pixel(local.data, w, count);
      }
      store_pixel(acc, out + size_t(xx) * 3);
    }
  }
}

void vertical_rows_avx2(PixelsView tmp, const AxisView& v, int row_offset, MutablePixelsView out, int y0,
                        int y1) {
  const size_t n = size_t(out.width) * 3;
  const __m256i half = _mm256_set1_epi32(kHalf);
  // packs/packus work within 128-bit lanes: this restores byte order after packing 4 vectors.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int yy = y0; yy < y1; ++yy) {
    const int32_t* k = &v.weights[size_t(yy) * v.taps];
    const int count = v.count[yy];
    const size_t stride = size_t(tmp.width) * 3;
    const uint8_t* rows = count > 0 ? tmp.data + size_t(v.first[yy] - row_offset) * stride : nullptr;
    uint8_t* o = out.data + size_t(yy) * n;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {  // 32 bytes per step, 4 x 8 int32 accumulators
      __m256i a0 = half, a1 = half, a2 = half, a3 = half;
      for (int t = 0; t < count; ++t) {
        const uint8_t* r = rows + size_t(t) * stride + i;
        const __m256i w = _mm256_set1_epi32(k[t]);
        const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r));
        const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + 16));
        a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(lo), w));
        a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), w));
        a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(hi), w));
        a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), w));
      }
      const __m256i s01 =
          _mm256_packs_epi32(_mm256_srai_epi32(a0, kPrecisionBits), _mm256_srai_epi32(a1, kPrecisionBits));
      const __m256i s23 =
          _mm256_packs_epi32(_mm256_srai_epi32(a2, kPrecisionBits), _mm256_srai_epi32(a3, kPrecisionBits));
      const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(s01, s23), order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i), bytes);
    }
    for (; i < n; ++i) {  // tail, scalar
      int32_t s = kHalf;
      for (int t = 0; t < count; ++t) s += int32_t(rows[size_t(t) * stride + i]) * k[t];
      const int32_t c = s >> kPrecisionBits;
      o[i] = uint8_t(c < 0 ? 0 : (c > 255 ? 255 : c));
    }
  }
}

}  // namespace fvlm::resize_kernels
