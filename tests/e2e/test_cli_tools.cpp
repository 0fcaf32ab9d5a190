// tokenize / detokenize / preprocess / embed through the CLI, against the golden data.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/npy.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;

TEST_CASE("cli tokenize/detokenize: the golden chat prompt ids") {
  std::ifstream f(golden("tiny/llm/text_cases.json"));
  const auto c = nlohmann::json::parse(f)["cases"][0];
  const std::string prompt_file = temp_path("fvlm_prompt.txt");
  std::ofstream(prompt_file) << c["prompt"].get<std::string>();
  const CliRun r = run_cli("tokenize -m '" + tiny_model() + "' - < '" + prompt_file + "'");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ids"] == c["input_ids"]);
  const CliRun d = run_cli("detokenize -m '" + tiny_model() + "' '" + c["input_ids"].dump() + "'");
  CHECK(d.exit_code == 0);
  REQUIRE(d.lines.size() == 1);
  CHECK(d.lines[0]["text"] == c["prompt"]);
  const CliRun bad = run_cli("detokenize -m '" + tiny_model() + "' '[1, 99999999]'");
  CHECK(bad.exit_code == 2);
}

TEST_CASE("cli preprocess: bit-exact golden pixel values for a PNG") {
  const std::string out = temp_path("fvlm_pixels.npy");
  const CliRun r =
      run_cli("preprocess '" + golden_image("tall.png") + "' -o '" + out + "' -m '" + tiny_model() + "'");
  CHECK(r.exit_code == 0);
  const Tensor mine = read_npy(out);
  const Tensor ref = read_npy(golden("tiny/preprocess/tall.pixel_values.npy"));
  REQUIRE(mine.shape() == ref.shape());
  CHECK(compare(mine, ref).max_abs == 0.0);
}

TEST_CASE("cli embed: golden features and projection within tolerance - bad inputs") {
  const std::string out = temp_path("fvlm_feats.npy");
  CliRun r = run_cli("embed --vision-precision f32 -m '" + tiny_model() + "' '" + golden_image("gray.png") +
                     "' -o '" + out + "'");
  CHECK(r.exit_code == 0);
  Diff d = compare(read_npy(out), read_npy(golden("tiny/encoder/gray.image_features.npy")));
  CHECK(within_vision_tol(d));
  r = run_cli("embed --projected --vision-precision f32 -m '" + tiny_model() + "' - -o '" + out + "' < '" +
              golden_image("rgba.png") + "'");
  CHECK(r.exit_code == 0);
  d = compare(read_npy(out), read_npy(golden("tiny/encoder/rgba.projected.npy")));
  CHECK(within_vision_tol(d));
  r = run_cli("embed -m '" + tiny_model() + "' /nonexistent.png -o '" + out + "'");
  CHECK(r.exit_code == 3);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "not_found");
  r = run_cli("embed -m '" + tiny_model() + "' '" + golden_image("gray.png") + "' -o '" + out +
              "' --resolution 100");
  CHECK(r.exit_code == 2);
}

TEST_CASE("cli embed --vision-precision int8: close to the golden features, not equal - bad values refused") {
  const std::string out = temp_path("fvlm_feats_int8.npy");
  CliRun r = run_cli("embed --vision-precision int8 -m '" + tiny_model() + "' '" + golden_image("gray.png") +
                     "' -o '" + out + "'");
  CHECK(r.exit_code == 0);
  const Diff d = compare(read_npy(out), read_npy(golden("tiny/encoder/gray.image_features.npy")));
  CHECK(d.cosine >= 0.998);           // the bound tests/blocks/test_encoder_int8.cpp measured
  CHECK_FALSE(within_vision_tol(d));  // it really ran the INT8 path
  r = run_cli("embed --vision-precision fp8 -m '" + tiny_model() + "' '" + golden_image("gray.png") +
              "' -o '" + out + "'");
  CHECK(r.exit_code == 2);
}
