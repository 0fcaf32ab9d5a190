// bench_cpu_peak: the FP32 FMA throughput this machine actually delivers (per core and with N
// threads), so the encoder's and the LLM's GFLOP/s can be read as a fraction of a measured peak
// rather than of a datasheet number. Ten independent AVX2 FMA chains per thread hide the latency.
//
//   bench_cpu_peak [threads=2] [seconds=1]
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

__attribute__((target("avx2,fma"))) static double fma_loop(long iters) {
  __m256 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_ps(1.0f + 1e-7f * float(i));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 10; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  float out[8];
  __m256 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, a[i]);
  _mm256_storeu_ps(out, s);
  return double(out[0]);  // keeps the loop alive
}

static double gflops(int threads, double seconds) {
  const long iters = 20'000'000;
  double sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  long rounds = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += fma_loop(iters);
    ++rounds;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sink == 42.0) std::puts("");
  return double(rounds) * threads * iters * 10 * 8 * 2 / s / 1e9;  // 10 chains x 8 lanes x 2 flops
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const double one = gflops(1, seconds), many = gflops(threads, seconds);
  std::printf("FP32 AVX2 FMA peak: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s (x%.2f)\n", one, threads,
              many, many / one);
  return 0;
}
