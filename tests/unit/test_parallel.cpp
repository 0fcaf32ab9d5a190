// core/parallel.h: chunks cover each row once, and release_threads() really ends the calling
// thread's OpenMP team (the engine relies on it: an idle team slows every other team's fork/join).
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "tests/test_util.h"

namespace {

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
    const int before = fvlm::test::process_threads();
    two_thread_region();
    CHECK(fvlm::test::process_threads() ==
          before + 1);  // libgomp keeps the team's thread for the next region
    fvlm::release_threads();
    CHECK(fvlm::test::process_threads_settled(before) == before);
    two_thread_region();
    CHECK(fvlm::test::process_threads() == before + 1);
    fvlm::release_threads();
    fvlm::release_threads();  // nothing to end: harmless
    CHECK(fvlm::test::process_threads_settled(before) == before);
  }).join();
}
