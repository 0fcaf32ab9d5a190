// --encode-ahead / --encoder-threads through the CLI (issue 14's encoder run-ahead): the answers of
// batch and describe over several images are the same token ids with the run-ahead off and on (and
// at any encoder thread count), batch's summary reports what the engine did, and bad values are
// bad_args (exit 2) before the model loads.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "tests/e2e/batch_fixture.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

// image -> token ids of every line, all of which must be ok.
Answers all_ok(const CliRun& r) {
  Answers a = answers_of(r);
  REQUIRE(a.failed == 0);
  return a;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_text(p)); }

}  // namespace

TEST_CASE("run-ahead: batch gives the same ids with --encode-ahead 0 and 2, the summary says what ran") {
  constexpr int kImages = 7;
  const fs::path dir = make_image_folder("run_ahead_batch", kImages);
  const fs::path summary = temp_path("run_ahead_summary.json");
  // --parallel 2 with 7 images: the later ones wait for a slot, so with run-ahead they are encoded
  // while the first ones decode. Without --ignore-eos sequences may stop at different steps.
  const std::string base = "batch " + q(dir) + " -m " + q(tiny_model()) +
                           " --max-tokens 12 -q --parallel 2 --summary " + q(summary);
  std::map<std::string, std::vector<int>> off_ids;
  for (const char* ahead : {"--encode-ahead 0", "--encode-ahead 2", "--encode-ahead 2 --encoder-threads 1"}) {
    CAPTURE(ahead);
    fs::remove(summary);
    const CliRun r = run_cli(base + " " + ahead);
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == kImages);
    const Answers a = all_ok(r);
    REQUIRE(a.ids.size() == kImages);
    if (off_ids.empty())
      off_ids = a.ids;
    else
      CHECK(a.ids == off_ids);

    REQUIRE(fs::exists(summary));
    const nlohmann::json e = read_json(summary)["engine"];
    REQUIRE(e.is_object());
    CHECK(e["parallel"] == 2);
    CHECK(e["kv_budget_mb"].get<int64_t>() > 0);  // resolved from free memory
    CHECK(e["decode_steps"].get<int64_t>() > 0);
    const bool on = std::string(ahead) != "--encode-ahead 0";
    if (!on) {
      CHECK(e["encode_ahead"] == 0);
      CHECK(e["encoder_threads"] == 0);  // no encoder thread
      CHECK(e["encoded_ahead"] == 0);
      CHECK(e["encoded_while_decoding"] == 0);
      CHECK(e["max_ready"] == 0);
    } else {
      CHECK(e["encode_ahead"] == 2);
      if (std::string(ahead).find("--encoder-threads 1") != std::string::npos)
        CHECK(e["encoder_threads"] == 1);
      else
        CHECK(e["encoder_threads"].get<int>() >= 1);  // as many as --threads
      CHECK(e["encoded_ahead"] == kImages);           // every image went through the encoder thread
      const int64_t overlapped = e["encoded_while_decoding"].get<int64_t>();
      CHECK(overlapped >= 0);
      CHECK(overlapped <= kImages);
      CHECK(e["max_ready"].get<int>() >= 1);
      CHECK(e["max_ready"].get<int>() <= 2);  // the bound
    }
  }
}

TEST_CASE("run-ahead: describe over several images gives the same ids and order with it off and on") {
  std::string images;
  for (const char* name : {"wide.png", "square.jpg", "tall.png", "gray.png", "rgba.png", "square.jpg"}) {
    images += ' ';
    images += q(golden_image(name));
  }
  const std::string base =
      "describe" + images + " -m " + q(tiny_model()) + " -q --max-tokens 30 --parallel 3";
  const CliRun off = run_cli(base + " --encode-ahead 0");
  CHECK(off.exit_code == 0);
  REQUIRE(off.lines.size() == 6);
  const Answers a0 = all_ok(off);
  for (const char* extra : {"--encode-ahead 2", "--encode-ahead 5 --encoder-threads 1", ""}) {
    CAPTURE(extra);
    const CliRun r = run_cli(base + " " + extra);
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 6);
    const Answers a = all_ok(r);
    CHECK(a.ids == a0.ids);
    CHECK(a.order == a0.order);  // input order
  }
}

TEST_CASE("run-ahead: bad --encode-ahead / --encoder-threads are bad_args, exit 2, before the model loads") {
  // A model path that does not exist: the argument is refused before any load (not_found otherwise).
  const std::string no_model = " -m /nonexistent/fastvlm-model ";
  struct Case {
    std::string command, args, option;
  };
  const std::string img = q(golden_image("wide.png"));
  const std::vector<Case> cases = {
      {"batch " + img, "--encode-ahead -1", "--encode-ahead"},
      {"batch " + img, "--encode-ahead 257", "--encode-ahead"},
      {"batch " + img, "--encode-ahead x", "--encode-ahead"},
      {"batch " + img, "--encoder-threads -1", "--encoder-threads"},
      {"batch " + img, "--encoder-threads 3 -t 2", "--encoder-threads 3"},
      {"describe " + img + " " + img, "--encode-ahead -3", "--encode-ahead"},
      {"describe " + img + " " + img, "--encoder-threads 2 --threads 1", "--threads 1"},
      {"ocr " + img + " " + img, "--encoder-threads 100000", "--encoder-threads 100000"},
      {"serve --port 0", "--encoder-threads 3 -t 2", "--encoder-threads 3"},
      {"serve --port 0", "--encode-ahead -1", "--encode-ahead"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.command);
    CAPTURE(c.args);
    // `timeout`: a serve that wrongly accepted the value would listen until killed.
    const CliRunFull full = run_cli_env("timeout 60", c.command + no_model + c.args);
    const CliRun& r = full.run;
    CHECK(r.exit_code == 2);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0]["ok"] == false);
    CHECK(r.lines[0]["error"]["code"] == "bad_args");
    const std::string msg = r.lines[0]["error"].value("message", std::string());
    CHECK(msg.find(c.option) != std::string::npos);
    CHECK(full.err.find('\n') == full.err.size() - 1);  // one line on stderr too
  }
}
