// `--weight-pages` end to end: the LLM weights in huge pages or left in the file mapping give the
// same tokens and the same logits bit for bit (only decode speed differs; the golden model is F32:
// Q8_0/Q4_0 matrices are interleaved on the way and sum in another f32 order, which
// tests/unit/test_weight_pages.cpp bounds), `-v` says where they went, and an unknown name is bad_args.
#include <doctest/doctest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "core/npy.h"
#include "tests/e2e/batch_fixture.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;

TEST_CASE("cli ask --weight-pages huge and mapped: same token ids, same logits, -v names the placement") {
  const nlohmann::json cases = golden_e2e_cases();
  REQUIRE(!cases.empty());
  const nlohmann::json& c = cases[0];
  const std::string question = c["question"];
  const char* pages[2] = {"huge", "mapped"};
  const char* logged[2] = {"copied into huge pages", "read from the file mapping"};
  std::string ids[2];
  Tensor logits[2];
  for (int i = 0; i < 2; ++i) {
    CAPTURE(pages[i]);
    const std::string npy = temp_path(std::string("fvlm_weight_pages_") + pages[i] + ".npy");
    const std::string log = temp_path(std::string("fvlm_weight_pages_") + pages[i] + ".log");
    const CliRun r = run_cli("ask -v --weight-pages " + std::string(pages[i]) + " -m '" + tiny_model() +
                                 "' '" + golden_image(c["image"]) + "' \"" + question +
                                 "\" --max-tokens 12 --ignore-eos --logits-out '" + npy + "' 2>'" + log + "'",
                             /*keep_stderr=*/true);
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    ids[i] = r.lines[0]["token_ids"].dump();
    logits[i] = read_npy(npy);
    const std::string text = read_text(log);
    CHECK(text.find(std::string("LLM weights: ")) != std::string::npos);
    CHECK(text.find(logged[i]) != std::string::npos);
  }
  CHECK(ids[0] == ids[1]);
  REQUIRE(logits[0].numel() == logits[1].numel());
  CHECK(std::memcmp(logits[0].data(), logits[1].data(), size_t(logits[0].nbytes())) == 0);
}

TEST_CASE("cli --weight-pages: an unknown name is bad_args (exit 2, one JSON line)") {
  const CliRun r = run_cli("ask --weight-pages hugetlb -m '" + tiny_model() + "' '" +
                           golden_image("wide.png") + "' hi --max-tokens 1");
  CHECK(r.exit_code == 2);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "bad_args");
}
