// The doctest main of every test binary. ctest runs each test case as its own process with
// --test-case=NAME (doctest_discover_tests); a name that no longer matches (a ';' in a name splits
// it into two CMake list items, a rename, a filter wildcard) would run nothing and "pass". So a run
// in which no test case passed the filters fails, loudly: nothing is skipped silently.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

namespace {

int g_cases_matched = -1;

// Records how many test cases the filters selected (doctest reports it at the end of the run).
struct MatchCounter : doctest::IReporter {
  explicit MatchCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    g_cases_matched = int(s.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("match_counter", 1, MatchCounter);

bool is_query(int argc, char** argv) {  // --list-test-cases and friends run no test by design
  for (int i = 1; i < argc; ++i)
    if (std::strstr(argv[i], "list") || std::strstr(argv[i], "help") || std::strstr(argv[i], "-ltc") ||
        std::strstr(argv[i], "-lts") || std::strstr(argv[i], "-ltr") || std::strstr(argv[i], "count"))
      return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit() || is_query(argc, argv)) return rc;
  if (rc == 0 && g_cases_matched == 0) {
    std::fprintf(stderr, "test_main: no test case matched the filters: nothing ran, so this is a failure\n");
    return 1;
  }
  return rc;
}
