// Tiles (AnyRes) mode and streaming through the CLI.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/npy.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;

TEST_CASE("cli tiles: a forced grid encodes the global view + CxR tiles, tokens concatenated") {
  const CliRun r = run_cli("ask -m '" + tiny_model() + "' '" + golden_image("wide.png") +
                           "' 'What is this?' --image-mode tiles --grid 2x2 --max-tokens 3");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  const auto& j = r.lines[0];
  CHECK(j["grid"] == nlohmann::json::array({2, 2}));
  const int per_view = j["n_image_tokens"].get<int>() / 5;
  CHECK(per_view * 5 == j["n_image_tokens"].get<int>());
  CHECK(per_view == 16);  // (256 / 64)^2 for the tiny model's resolution
  // The spliced prompt grows by exactly the extra tiles' tokens.
  const CliRun pad = run_cli("ask -m '" + tiny_model() + "' '" + golden_image("wide.png") +
                             "' 'What is this?' --max-tokens 3");
  REQUIRE(pad.lines.size() == 1);
  CHECK(j["n_prompt_tokens"].get<int>() - pad.lines[0]["n_prompt_tokens"].get<int>() == 4 * per_view);
}

TEST_CASE("cli tiles: automatic grid from the pinpoints - embed writes every view's rows") {
  const std::string out = fvlm::test::temp_path("tiles.npy");
  const CliRun r = run_cli("embed -m '" + tiny_model() + "' '" + golden_image("tall.png") + "' -o '" + out +
                           "' --image-mode tiles --projected");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  const auto grid = r.lines[0]["grid"];
  REQUIRE(grid.size() == 2);
  const int views = 1 + grid[0].get<int>() * grid[1].get<int>();
  CHECK(grid[1].get<int>() >= grid[0].get<int>());  // a tall image gets at least as many rows as columns
  const Tensor t = read_npy(out);
  CHECK(t.dim(0) == views * 16);
  CHECK(t.dim(1) == 64);
  const CliRun bad = run_cli("ask -m '" + tiny_model() + "' '" + golden_image("tall.png") + "' hi --grid 3");
  CHECK(bad.exit_code == 2);
}

TEST_CASE("cli --stream: the answer appears on stderr as it is generated, JSON stays on stdout") {
  const std::string err = fvlm::test::temp_path("stream.txt");
  const CliRun r =
      run_cli("ask -m '" + tiny_model() + "' '" + golden_image("wide.png") +
                  "' 'Describe the image.' --max-tokens 6 --ignore-eos --stream -q 2> '" + err + "'",
              /*keep_stderr=*/true);
  REQUIRE(r.lines.size() == 1);
  std::ifstream f(err);
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(ss.str().find(r.lines[0]["answer"].get<std::string>()) != std::string::npos);
}

TEST_CASE("cli tiles: a prompt longer than the model's context is too_large, refused before encoding") {
  const CliRun r = run_cli("ask -m '" + tiny_model() + "' '" + golden_image("wide.png") +
                           "' hi --resolution 1024 --grid 6x6 --max-tokens 4");
  CHECK(r.exit_code == 3);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "too_large");
}
