// `--llm-precision` end to end: bf16 prefill keeps every golden e2e case's first token and its
// last-position logits within cosine 0.9995 of the FP32 goldens (issue 12's bar); `auto` is bf16 only
// where oneDNN's bf16 is native and f32 under FVLM_MAX_ISA=avx2 (inspect says which); bf16 forced
// where oneDNN has none is an `unsupported` error; unknown names are bad_args. Tests that need bf16
// report "SKIPPED:" without it (ctest marks them skipped).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/bf16_support.h"
#include "core/dispatch.h"
#include "core/npy.h"
#include "tests/e2e/batch_fixture.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;

TEST_CASE(
    "cli ask --llm-precision bf16: every golden e2e case keeps its first token, logits cosine >= 0.9995") {
  if (bf16_support() == Bf16Support::kNone) {
    MESSAGE("SKIPPED: oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
    return;
  }
  const nlohmann::json cases = golden_e2e_cases();
  REQUIRE(cases.size() >= 4);
  for (const auto& c : cases) {
    const std::string tag = c["tag"];
    CAPTURE(tag);
    const std::string logits = temp_path("fvlm_llm_bf16_" + tag + ".npy");
    const std::string q = c["question"];
    const CliRun r = run_cli("ask --vision-precision f32 --llm-precision bf16 -m '" + tiny_model() + "' '" +
                             golden_image(c["image"]) + "' \"" + q +
                             "\" --max-tokens 12 --ignore-eos --logits-out '" + logits + "'");
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    REQUIRE(!r.lines[0]["token_ids"].empty());
    CHECK(r.lines[0]["token_ids"][0] == c["greedy_ids"][0]);
    const Tensor mine = read_npy(logits), ref = read_npy(golden("tiny/e2e/" + tag + ".logits_last.npy"));
    REQUIRE(mine.numel() <= ref.numel());
    const Diff d = compare(mine.f32(), ref.f32(), long(mine.numel()));
    MESSAGE(tag << ": bf16 prefill last-position logits cosine " << d.cosine << ", max|diff| " << d.max_abs);
    CHECK(d.max_abs > 2e-3);  // not the FP32 path (which is within 2e-3 of the goldens)
    CHECK(d.cosine >= 0.9995);
  }
}

TEST_CASE(
    "cli inspect: llm auto precision is bf16 only with native bf16 (f32 under FVLM_MAX_ISA=avx2), bf16 "
    "packing "
    "on AMX or with FVLM_LLM_PACK=on") {
  CliRun r = run_cli("inspect '" + tiny_model() + "'");
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["llm"]["auto_precision"] == (bf16_is_native(bf16_support()) ? "bf16" : "f32"));
  // packed bf16 prefill copies: on AMX only (the tiny model's copy fits any free memory)
  const bool amx = bf16_support() == Bf16Support::kAmx && !std::getenv("FVLM_LLM_PACK");
  CHECK((r.lines[0]["llm"]["auto_bf16_packing_bytes"].get<int64_t>() > 0) == amx);
  // every precision this CPU runs: int8 exactly where oneDNN has VNNI
  const nlohmann::json& names = r.lines[0]["llm"]["precisions"];
  CHECK(names[0] == "f32");
  CHECK((std::find(names.begin(), names.end(), "int8") != names.end()) == onednn_has_vnni());
  CHECK(r.lines[0]["llm"]["int8_copy_bytes"].get<int64_t>() > 0);
  r = run_cli_with_env("FVLM_MAX_ISA=avx2", "inspect '" + tiny_model() + "'");
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["llm"]["auto_precision"] == "f32");
  CHECK(r.lines[0]["llm"]["auto_bf16_packing_bytes"] == 0);
  r = run_cli_with_env("FVLM_LLM_PACK=on", "inspect '" + tiny_model() + "'");
  REQUIRE(r.lines.size() == 1);
  // forced on: wherever auto resolves to bf16 (native bf16), whatever the CPU's matrix unit
  CHECK((r.lines[0]["llm"]["auto_bf16_packing_bytes"].get<int64_t>() > 0) == bf16_is_native(bf16_support()));
  // A Q8_0 file's layers are packed at load; where the AMX int8 kernels run them, no bf16 copy.
  const std::string q8 = temp_path("inspect_q8_0");
  REQUIRE(run_cli("convert '" + tiny_model() + "' -o '" + q8 + "' --type q8_0").exit_code == 0);
  r = run_cli("inspect '" + q8 + "'");
  REQUIRE(r.lines.size() == 1);
  CHECK((r.lines[0]["llm"]["auto_bf16_packing_bytes"].get<int64_t>() > 0) ==
        (amx && !isa_allowed(CpuFeature::kAmxInt8)));
  MESSAGE("AMX int8 kernels here: ", isa_allowed(CpuFeature::kAmxInt8));
}

TEST_CASE(
    "cli --llm-precision: bf16 under FVLM_MAX_ISA=avx2 and int8 below VNNI are unsupported (exit 5), unknown "
    "names bad_args") {
  const std::string ask =
      "ask -m '" + tiny_model() + "' '" + golden_image("wide.png") + "' hi --max-tokens 1";
  CliRun r = run_cli_with_env("FVLM_MAX_ISA=avx2", ask + " --llm-precision bf16");
  CHECK(r.exit_code == 5);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "unsupported");
  CHECK(r.lines[0]["error"]["message"].get<std::string>().find("--llm-precision bf16") != std::string::npos);
  // int8 needs oneDNN's int8 dot products: capped below VNNI it is refused the same way.
  r = run_cli_with_env("ONEDNN_MAX_CPU_ISA=AVX2", ask + " --llm-precision int8");
  CHECK(r.exit_code == 5);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "unsupported");
  CHECK(r.lines[0]["error"]["message"].get<std::string>().find("--llm-precision int8") != std::string::npos);
  if (onednn_has_vnni()) CHECK(run_cli(ask + " --llm-precision int8").exit_code == 0);
  r = run_cli(ask + " --llm-precision int4");
  CHECK(r.exit_code == 2);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["error"]["code"] == "bad_args");
}

// The resume key holds the LLM precision that runs: results of an f32 run are not taken for a bf16
// run (where bf16 is available), and auto is keyed as what it resolves to.
TEST_CASE("cli batch --resume: the key holds the llm precision that runs, not the name asked for") {
  namespace fs = std::filesystem;
  const fs::path dir = make_image_folder("llm_precision_key", 1);
  const fs::path out = dir / "out.jsonl";
  const std::string base =
      "batch " + q(dir) + " " + model_arg(1) + " -o " + q(out) + " --resume --vision-precision f32";
  REQUIRE(run_cli_env("", base + " --llm-precision f32").run.exit_code == 0);
  REQUIRE(read_jsonl(out).lines.size() == 1);
  // The same precision again: the image is skipped.
  CHECK(run_cli_env("", base + " --llm-precision f32").run.exit_code == 0);
  CHECK(read_jsonl(out).lines.size() == 1);
  // auto: skipped exactly where it resolves to f32 (under FVLM_MAX_ISA=avx2 it must).
  CHECK(run_cli_env("FVLM_MAX_ISA=avx2", base).run.exit_code == 0);
  CHECK(read_jsonl(out).lines.size() == 1);
  if (bf16_support() == Bf16Support::kNone) {
    MESSAGE("SKIPPED (bf16 part): oneDNN has no bf16 matmul on this CPU (needs AVX-512)");
  } else {
    CHECK(run_cli_env("", base + " --llm-precision bf16").run.exit_code == 0);
    const JsonLines lines = read_jsonl(out);
    REQUIRE(lines.lines.size() == 2);  // answered again: another key
    CHECK(lines.lines[0]["key"] != lines.lines[1]["key"]);
  }
  fs::remove_all(dir);
}
