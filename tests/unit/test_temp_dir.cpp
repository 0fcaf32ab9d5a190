// The test suites' temp files: each process's go into one directory that is removed when the process
// is done with it, so that running the suite again and again does not fill /tmp.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using fvlm::test::ProcessTempDir;
using fvlm::test::temp_path;

TEST_CASE("temp files: the directory and everything in it go with its owner") {
  fs::path dir, nested;
  {
    ProcessTempDir temp("fvlm_probe");
    dir = temp.dir();
    REQUIRE(fs::is_directory(dir));
    nested = dir / "converted" / "model.gguf";
    fs::create_directories(nested.parent_path());
    std::ofstream(nested) << "bytes";
    REQUIRE(fs::exists(nested));
  }
  CHECK_FALSE(fs::exists(nested));
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("temp files: a forked child that exits does not remove its parent's") {
  const fs::path file = temp_path("kept_across_fork.txt");  // the process-wide directory exists now
  std::ofstream(file) << "parent's";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) std::exit(0);  // the normal exit path: static destructors run in the child too
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(fs::exists(file));
  CHECK(fs::path(temp_path("x")).parent_path().filename().string().starts_with("fvlm_"));
}
