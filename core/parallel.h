// parallel_for over row ranges. It runs on OpenMP, the same runtime Debian's oneDNN 2.6 uses
// (DNNL_CPU_RUNTIME_OMP), so our kernels and oneDNN primitives share one pool of threads and
// never oversubscribe the cores. Kernels themselves never start threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>

#include <omp.h>

namespace fvlm {

// Sets the thread count for both our kernels and oneDNN.
inline void set_num_threads(int n) { omp_set_num_threads(std::max(1, n)); }
inline int num_threads() { return omp_get_max_threads(); }

// Ends the calling thread's OpenMP team: its threads exit, and its next parallel region starts a
// new team. Call it where a thread stops computing for a while but others go on. Why: libgomp
// spin-waits only ~100 iterations before sleeping on a futex whenever the process holds more
// OpenMP threads than CPUs, and it counts the idle teams of every thread. One team left by the
// thread that loaded the model thus made each fork/join of the engine's worker a futex wake-up
// (a parallel region 52 vs 8-15 us; 0.5B Q4_0 decode on 2 threads 48 vs 70 tok/s).
inline void release_threads() { omp_pause_resource(omp_pause_soft, omp_get_initial_device()); }

// Calls fn(begin, end) on disjoint chunks covering [0, n), each at least `grain` long
// (except the last), one chunk per thread.
template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const int64_t max_chunks = std::max<int64_t>(1, n / std::max<int64_t>(1, grain));
  const int threads = int(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

// Calls fn(thread, threads) once on each thread of one parallel region of `threads` threads; the
// caller spreads its tasks (for example every threads-th from `thread`). Inside the region oneDNN
// runs each primitive on the calling thread alone. An exception must not leave an OpenMP region:
// the first one is kept and rethrown after it.
template <class Fn>
void on_each_thread(int threads, Fn&& fn) {
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    try {
      fn(omp_get_thread_num(), omp_get_num_threads());
    } catch (...) {
#pragma omp critical(fvlm_on_each_thread_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// parallel_for over the rows of several matrices taken as one concatenation (q/k/v, gate/up):
// one fork/join for all of them. Calls fn(part, lo, hi) for the rows [lo, hi) of `part` that a
// thread's chunk covers; rows_of(part) is its row count.
template <class Parts, class RowsOf, class Fn>
void parallel_for_parts(const Parts& parts, RowsOf&& rows_of, int64_t grain, Fn&& fn) {
  int64_t total = 0;
  for (const auto& p : parts) total += rows_of(p);
  parallel_for(total, grain, [&](int64_t b, int64_t e) {
    int64_t first = 0;  // row of the concatenation where the current part starts
    for (const auto& p : parts) {
      const int64_t n = rows_of(p), lo = std::max(b, first) - first, hi = std::min(e, first + n) - first;
      if (lo < hi) fn(p, lo, hi);
      first += n;
    }
  });
}

}  // namespace fvlm
