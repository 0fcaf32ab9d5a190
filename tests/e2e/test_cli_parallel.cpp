// --parallel through the CLI (issue 14): `batch` and `describe IMG...` give every image the same
// token ids whatever the parallelism (greedy and seeded sampling, mixed --max-tokens through
// images that stop at different steps), lines in input order unless --unordered, an unreadable
// image fails alone, and a KV budget too small for the batch still answers everything.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "tests/e2e/batch_fixture.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("parallel: batch gives the same ids with --parallel 1, 4 and 7, greedy and seeded sampling") {
  const fs::path dir = make_image_folder("parallel_batch", 9);
  // An unreadable "image" among them: fails alone, the others keep their answers.
  { std::ofstream(dir / "img99.png") << "not a png"; }
  for (const char* sampling : {"", "--temperature 0.9 --top-k 40 --seed 7"}) {
    CAPTURE(sampling);
    std::map<std::string, std::vector<int>> first;
    for (const char* parallel : {"1", "4", "7"}) {
      CAPTURE(parallel);
      const CliRun r = run_cli("batch " + q(dir.string()) + " -m " + q(tiny_model()) +
                               " --max-tokens 9 --ignore-eos -q --parallel " + parallel + " " + sampling);
      CHECK(r.exit_code == 1);  // some failed: the unreadable one
      REQUIRE(r.lines.size() == 10);
      const Answers a = answers_of(r);
      CHECK(a.failed == 1);
      CHECK(a.order == sorted(a.order));  // input order (the listing is sorted)
      REQUIRE(a.ids.size() == 9);
      for (const auto& [img, ids] : a.ids) CHECK(ids.size() == 9);
      if (first.empty())
        first = a.ids;
      else
        CHECK(a.ids == first);
    }
  }
}

TEST_CASE("parallel: describe over several images, --unordered and a tiny --kv-budget") {
  std::string images;
  for (const char* name : {"wide.png", "square.jpg", "tall.png", "gray.png", "rgba.png", "wide.png"}) {
    images += ' ';
    images += q(golden_image(name));
  }
  const std::string base = "describe" + images + " -m " + q(tiny_model()) + " -q";
  // Without --ignore-eos an image that emits <|im_end|> leaves the batch at its own step; with more
  // images than slots the later ones join mid-way. (Mixed --max-tokens: tests/blocks.)
  const CliRun one = run_cli(base + " --max-tokens 40 --parallel 1");
  REQUIRE(one.lines.size() == 6);
  const Answers a1 = answers_of(one);
  for (const char* extra : {"--parallel 3", "--parallel 5 --unordered", "--parallel 4 --kv-budget 1"}) {
    CAPTURE(extra);
    const CliRun r = run_cli(base + " --max-tokens 40 " + extra);
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 6);
    const Answers a = answers_of(r);
    CHECK(a.ids == a1.ids);
    if (std::string(extra).find("unordered") == std::string::npos) CHECK(a.order == a1.order);
    CHECK(sorted(a.order) == sorted(a1.order));
  }
}

TEST_CASE("parallel: bad --parallel and --kv-budget values are refused with the usage exit code") {
  for (const char* bad : {"--parallel -1", "--parallel 1000", "--kv-budget -5", "--parallel x"}) {
    CAPTURE(bad);
    const CliRun r = run_cli("batch " + q(golden_image("wide.png")) + " -m " + q(tiny_model()) + " " + bad);
    CHECK(r.exit_code == 2);
  }
}
