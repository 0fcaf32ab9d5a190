// core/parallel.h: chunks cover each row once, and release_threads() really ends the calling
// thread's OpenMP team (the engine relies on it: an idle team slows every other team's fork/join).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/parallel.h"

namespace {

// Threads of this process, as the kernel lists them.
int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The count once it settles at `expected` (a released thread is still exiting when the release
// returns), or whatever it is after 2 s.
int process_threads_settled(int expected) {
  int n = process_threads();
  for (int i = 0; i < 2000 && n != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    n = process_threads();
  }
  return n;
}

void two_thread_region() {
  std::atomic<int> ran{0};
#pragma omp parallel num_threads(2)
  ++ran;
  REQUIRE(ran == 2);
}

}  // namespace

TEST_CASE("parallel_for: the chunks cover every row once, whatever the grain") {
  for (const int64_t n : {1, 7, 64, 1000})
    for (const int64_t grain : {1, 16, 5000}) {
      CAPTURE(n);
      CAPTURE(grain);
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      fvlm::parallel_for(n, grain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++seen[size_t(i)];
      });
      for (const auto& s : seen) CHECK(s == 1);
    }
}

TEST_CASE("release_threads: the calling thread's OpenMP team exits, and the next region starts a new one") {
  // On its own thread: the test runner's main thread may hold a team from earlier tests.
  std::thread([] {
    const int before = process_threads();
    two_thread_region();
    CHECK(process_threads() == before + 1);  // libgomp keeps the team's thread for the next region
    fvlm::release_threads();
    CHECK(process_threads_settled(before) == before);
    two_thread_region();
    CHECK(process_threads() == before + 1);
    fvlm::release_threads();
    fvlm::release_threads();  // nothing to end: harmless
    CHECK(process_threads_settled(before) == before);
  }).join();
}
