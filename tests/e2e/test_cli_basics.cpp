// The CLI contract (shared/design.md): JSON on stdout, documented error codes and exit statuses.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm::test;

namespace {
void check_error(const CliRun& r, const std::string& code, int exit_code) {
  CHECK(r.exit_code == exit_code);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ok"] == false);
  CHECK(r.lines[0]["error"]["code"] == code);
  CHECK(r.lines[0]["error"]["message"].get<std::string>().size() > 0);
}
}  // namespace

TEST_CASE("cli: --version and --help exit 0") {
  std::string out;
  CHECK(run_command(quoted_cli() + " --version", out) == 0);
  CHECK(out.find("fastvlm") != std::string::npos);
  CHECK(run_command(quoted_cli() + " --help", out) == 0);
  CHECK(out.find("inspect") != std::string::npos);
}

TEST_CASE("cli: inspect reports the golden model as valid") {
  const CliRun r = run_cli("inspect '" + tiny_model() + "'");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  const auto& j = r.lines[0];
  CHECK(j["ok"] == true);
  CHECK(j["validation"]["ok"] == true);
  CHECK(j["n_tensors"].get<int>() > 100);
  CHECK(j["llm"]["hidden_size"].get<int>() > 0);
  // oneDNN's kernel per precision this CPU runs (f32 and int8 everywhere), and the ISA tiers
  CHECK(!j["vision"]["kernels"]["f32"].get<std::string>().empty());
  CHECK(!j["vision"]["kernels"]["int8"].get<std::string>().empty());
  CHECK(!j["isa"]["onednn"].get<std::string>().empty());
  CHECK(j["parameters"]["total"].get<long>() == j["parameters"]["vision"].get<long>() +
                                                    j["parameters"]["projector"].get<long>() +
                                                    j["parameters"]["llm"].get<long>());
}

TEST_CASE("cli: bad arguments and missing files give the documented codes") {
  check_error(run_cli(""), "bad_args", 2);
  check_error(run_cli("inspect"), "bad_args", 2);
  check_error(run_cli("inspect /nonexistent/model"), "not_found", 3);
  check_error(run_cli("inspect '" + golden_dir() + "/images'"), "bad_model", 4);
}

TEST_CASE("cli: a q4_0 conversion is a mixed file - inspect reports each LLM tensor kind's storage") {
  const std::string out = fvlm::test::temp_path("cli_q4_0");
  std::filesystem::remove_all(out);
  const CliRun c = run_cli("convert '" + tiny_model() + "' -o '" + out + "' --type q4_0");
  CHECK(c.exit_code == 0);
  const CliRun r = run_cli("inspect '" + out + "'");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  const auto& j = r.lines[0];
  CHECK(j["format"] == "gguf");
  const long layers = j["llm"]["num_hidden_layers"].get<long>();
  const auto& kinds = j["llm_dtypes"];
  using Counts = std::map<std::string, long>;
  for (const char* attn : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                           "self_attn.o_proj.weight"})
    CHECK(kinds[attn].get<Counts>() == Counts{{"Q8_0", layers}});
  for (const char* ffn : {"mlp.gate_proj.weight", "mlp.up_proj.weight"})
    CHECK(kinds[ffn].get<Counts>() == Counts{{"Q4_0", layers}});
  CHECK(kinds["mlp.down_proj.weight"].get<Counts>() == Counts{{"Q8_0", layers}});  // models/convert.h policy
  CHECK(kinds["model.embed_tokens.weight"].get<Counts>() == Counts{{"Q8_0", 1}});  // tied: the output matrix
  CHECK(kinds["self_attn.q_proj.bias"].get<Counts>() == Counts{{"F32", layers}});
}
