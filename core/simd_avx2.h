// Small AVX2 helpers shared by the *_avx2.cpp, *_avxvnni.cpp and *_avx512.cpp kernel files (the
// model code never sees intrinsics). An island (style.md): each ISA file gets its own copy, in
// its ISA's namespace (FVLM_ISA, set by CMakeLists.txt) and with internal linkage, so the linker
// can never hand an AVX-512-compiled copy to the AVX2 path of an older CPU.
#pragma once
#ifndef FVLM_ISA
#error "core/simd_avx2.h is for ISA files only (*_avx2.cpp, *_avxvnni.cpp, *_avx512.cpp)"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace fvlm::FVLM_ISA {
namespace {

// A compile-time index (std::integral_constant's job, minus its shared conversion operator).
template <int I>
struct Index {
  static constexpr int value = I;
  constexpr operator int() const { return I; }
};

// f(Index<0>) ... f(Index<N-1>): fully unrolled with constant indices, so the compiler keeps every
// accumulator of the tile in a register.
template <int N, class F>
inline void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) { (f(Index<I>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

// The sum of the 8 lanes of v.
inline float hsum_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Scalar tails: the same conversions as core/half.h, defined here so that no inline function of
// a shared header is compiled with ISA flags.
inline float bf16_to_f32(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
inline float f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }  // F16C: exact, as the vector loads

// An owned, zero-filled scratch array: what std::vector would be here, minus the shared template
// code (its members would be compiled with this file's ISA flags and could be kept program-wide).
template <class T>
struct ZeroedArray {
  T* data = nullptr;
  explicit ZeroedArray(size_t n) : data(new T[n]()) {}
  ~ZeroedArray() { delete[] data; }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;
};

}  // namespace
}  // namespace fvlm::FVLM_ISA
