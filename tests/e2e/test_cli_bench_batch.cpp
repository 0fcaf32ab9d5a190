// `bench --batch INPUT --parallel ...` (issue 14): one line per --parallel value with the engine's
// throughput on the user's images; the counts in it are the run's (images, tokens with
// --ignore-eos, the engine's resolved options); bad combinations are bad_args before the model
// loads, an unreadable image stops the bench with its own error. Both kinds of `bench` name the
// machine beside their figures.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/cpu_features.h"
#include "tests/e2e/batch_fixture.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

TEST_CASE("bench --batch: one line per --parallel, counting the images and tokens the run made") {
  const fs::path dir = make_image_folder("bench_batch", 5);
  const CliRun r = run_cli("bench --batch " + q(dir.string()) + " -m " + q(tiny_model()) +
                           " --parallel 1,3 --limit 4 --max-tokens 5 --ignore-eos --warmup 0");
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const nlohmann::json& j = r.lines[i];
    CAPTURE(j.dump());
    CHECK(j["ok"] == true);
    CHECK(j["task"] == "bench");
    CHECK(j["parallel"] == (i == 0 ? 1 : 3));
    CHECK(j["engine"]["parallel"] == j["parallel"]);
    CHECK(j["images"] == 4);  // --limit of the 5
    CHECK(j["failed"] == 0);
    CHECK(j["generated_tokens"] == 4 * 5);  // --ignore-eos: every image makes --max-tokens
    CHECK(j["engine"]["decode_steps"].get<int>() >= (i == 0 ? 4 * 4 : 4));  // 3 in a batch: fewer steps
    CHECK(j["wall_s"].get<double>() > 0);
    CHECK(j["images_per_s"].get<double>() > 0);
    CHECK(j["gen_tokens_per_s"].get<double>() > 0);
    CHECK(j["isa"].is_object());
    CHECK(j["vision_precision"].is_string());
  }
  // 4 images one at a time take 4 x 4 decode steps (the first token comes from the prefill); 3 at a
  // time share them.
  CHECK(r.lines[0]["engine"]["decode_steps"] == 16);
  CHECK(r.lines[1]["engine"]["decode_steps"].get<int>() < 16);

  const CliRun table = run_cli("bench --batch " + q(dir.string()) + " -m " + q(tiny_model()) +
                               " --parallel 2 --limit 2 --max-tokens 2 --format csv --warmup 0");
  CHECK(table.exit_code == 0);
  CHECK(table.stdout_text.rfind("parallel,images,failed,wall_s,images_per_s,", 0) == 0);
  CHECK(table.stdout_text.find("\n2,2,0,") != std::string::npos);
}

TEST_CASE("bench --batch: options that do not go together are bad_args, an unreadable image is its error") {
  const fs::path dir = make_image_folder("bench_batch_bad", 2);
  const std::string m = " -m " + q(tiny_model());
  for (const std::string& args :
       {"bench --parallel 2" + m, "bench --limit 3" + m, "bench --encode-ahead 1" + m,
        "bench --batch " + q(dir.string()) + " --plot p.png" + m,
        "bench --batch " + q(dir.string()) + " --compare-precision" + m,
        "bench --batch " + q(dir.string()) + " --parallel 0" + m,
        "bench --batch " + q(dir.string()) + " --stream" + m}) {
    CAPTURE(args);
    const CliRun r = run_cli(args);
    CHECK(r.exit_code == 2);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0]["error"]["code"] == "bad_args");
  }
  { std::ofstream(dir / "img00.png", std::ios::trunc) << "not a png"; }
  const CliRun bad = run_cli("bench --batch " + q(dir.string()) + m + " --parallel 1 --max-tokens 2");
  CHECK(bad.exit_code == 3);
  REQUIRE(bad.lines.size() == 1);
  CHECK(bad.lines[0]["error"]["code"] == "bad_image");
}

TEST_CASE("bench: the figures name the CPU and the threads, in JSON and as the tables' first line") {
  const fs::path dir = make_image_folder("bench_machine", 1);
  const std::string m = " -m " + q(tiny_model()) + " --threads 1 --warmup 0";
  for (const std::string& args : {"bench --resolutions 64 --repeats 1" + m,
                                  "bench --batch " + q(dir.string()) + " --parallel 1 --max-tokens 2" + m}) {
    CAPTURE(args);
    const CliRun json = run_cli(args);
    CHECK(json.exit_code == 0);
    REQUIRE(json.lines.size() == 1);
    CHECK(json.lines[0]["isa"]["model"] == fvlm::cpu_model_name());
    CHECK(json.lines[0]["isa"]["cpu"] == fvlm::cpu_features_summary());
    CHECK(json.lines[0]["threads"] == 1);
    const CliRun table = run_cli(args + " --format table");
    CHECK(table.exit_code == 0);
    const std::string& out = table.stdout_text;
    const std::string first = out.substr(0, out.find('\n'));
    CHECK(first.rfind("# " + fvlm::cpu_model_name() + ", 1 threads; cpu " + fvlm::cpu_features_summary(),
                      0) == 0);
    CHECK(first.find("; vision ") != std::string::npos);
  }
}
