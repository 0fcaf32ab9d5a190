// `--vision-precision bf16` end to end: every golden e2e case keeps its 12 greedy ids (issue 12's bar
// for the bf16 encoder). Where oneDNN has no bf16 matmul (below AVX-512) the test reports "SKIPPED:"
// and ctest marks it skipped (tests/CMakeLists.txt), never a silent pass.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "encoder/vision_precision.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;

TEST_CASE("cli ask --vision-precision bf16: every golden e2e case keeps its greedy ids") {
  if (enc::bf16_support() == enc::Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  const nlohmann::json cases = golden_e2e_cases();
  REQUIRE(cases.size() >= 4);
  for (const auto& c : cases) {
    const std::string tag = c["tag"];
    CAPTURE(tag);
    const std::string q = c["question"];
    const CliRun r = run_cli("ask --vision-precision bf16 --llm-precision f32 -m '" + tiny_model() + "' '" +
                             golden_image(c["image"]) + "' \"" + q + "\" --max-tokens 12 --ignore-eos");
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0]["token_ids"] == c["greedy_ids"]);
  }
}
