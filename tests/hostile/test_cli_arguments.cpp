// Hostile arguments and inputs (issue 10, items 10-12 and 14): each must give its documented error
// object and exit code, with a message a person can act on, and argument errors must be found
// before the model loads. The evidence for "before": the same command with a model path that does
// not exist still reports bad_args about the argument, not not_found about the model.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "core/error.h"
#include "core/image.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

const std::string kNoModel = "/nonexistent/fastvlm-model";

std::string image() { return golden_image("wide.png"); }

std::string error_message(const CliRun& r) {
  return r.lines.size() == 1 ? r.lines[0]["error"].value("message", std::string()) : std::string();
}

// One error object on stdout with `code` and `exit_code`, a message containing every `wants`,
// and none of CLI11's machine range wording.
void check_error(const CliRun& r, const std::string& code, int exit_code,
                 const std::vector<std::string>& wants) {
  CHECK(r.exit_code == exit_code);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ok"] == false);
  CHECK(r.lines[0]["error"]["code"] == code);
  const std::string msg = error_message(r);
  for (const std::string& w : wants) {
    CAPTURE(w);
    CHECK(msg.find(w) != std::string::npos);
  }
  CHECK(msg.find("not in range") == std::string::npos);
  CHECK(msg.find("0.000000") == std::string::npos);
  CHECK(msg.find("1797693") == std::string::npos);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(f.good());
}

// A shell command line whose stdout is JSON Lines (for FIFOs, process substitution, ulimit).
CliRun run_shell(const std::string& command) {
  CliRun r;
  r.exit_code = run_command(command, r.stdout_text);
  std::istringstream in(r.stdout_text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
  return r;
}

// A model's context: min(tokenizer_model_max_length, max_position_embeddings) of its config.json.
int model_context(const std::string& model_dir) {
  std::ifstream f(model_dir + "/config.json");
  const auto c = nlohmann::json::parse(f);
  return std::min(c.value("tokenizer_model_max_length", 1 << 30),
                  c.value("max_position_embeddings", 1 << 30));
}
int tiny_context() { return model_context(tiny_model()); }

std::string words(int n) {  // "a a a ...": one token per word after the first
  std::string s = "a";
  for (int i = 1; i < n; ++i) s += " a";
  return s;
}

// A minimal valid GIF89a: 1x1 pixel, a 2-colour global table, one LZW-coded image, the trailer.
std::string tiny_gif() {
  static const unsigned char kGif[] = {
      'G',  'I',  'F',  '8',  '9',  'a',  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,  // screen 1x1, GCT of 2
      0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,                                            // black, white
      0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,                    // image descriptor
      0x02, 0x02, 0x44, 0x01, 0x00,  // LZW min 2, 2 bytes, end
      0x3B};                         // trailer
  return std::string(reinterpret_cast<const char*>(kGif), sizeof kGif);
}

std::string float_tiff(const std::string& path) {
  cv::Mat m(8, 8, CV_32FC3, cv::Scalar(0.25, 0.5, 0.75));
  REQUIRE(cv::imwrite(path, m));
  return path;
}

}  // namespace

TEST_CASE("hostile args: out-of-range numbers are bad_args in human words, before the model loads") {
  struct Case {
    std::string args;
    std::vector<std::string> wants;
  };
  const std::string ask = "ask -m " + kNoModel + " " + q(image()) + " hi ";
  const std::vector<Case> cases = {
      {ask + "--temperature nan", {"--temperature", "from 0", "got 'nan'"}},
      {ask + "--temperature -1", {"--temperature", "got '-1'"}},
      {ask + "--temperature 1e999", {"--temperature", "got '1e999'"}},
      {ask + "--top-p 0", {"--top-p", "above 0", "got '0'"}},
      {ask + "--top-p 1.5", {"--top-p", "at most 1"}},
      {ask + "--top-p inf", {"--top-p"}},
      {ask + "--top-p 1e-50", {"--top-p", "got '1e-50'"}},  // 0 as the float it is stored in
      {ask + "--top-k -1", {"--top-k", "got '-1'"}},
      {ask + "--repetition-penalty 0", {"--repetition-penalty", "0.01"}},
      {ask + "--seed 99999999999999999999", {"--seed", "18446744073709551615", "got '99999999999999999999'"}},
      {ask + "--seed -1", {"--seed", "got '-1'"}},
      {ask + "--seed 1.5", {"--seed"}},
      {ask + "--max-tokens -2", {"--max-tokens", "until the context is full"}},
      {ask + "--max-tokens 99999999999", {"--max-tokens", "got '99999999999'"}},
      {ask + "--threads -1", {"--threads", "got '-1'"}},
      {ask + "--threads 1.5", {"--threads", "got '1.5'"}},
      {ask + "--resolution 1000", {"--resolution", "multiple of 64", "got '1000'"}},
      {ask + "--resolution 0", {"--resolution", "multiple of 64"}},
      {ask + "--resolution 8192", {"--resolution", "4096"}},
      {ask + "--max-pixels 0", {"--max-pixels", "at least 1"}},
      {ask + "--grid 1x64", {"--grid 1x64", "from 1 to 16", "64 rows"}},
      {ask + "--grid 99999999999x2", {"--grid", "from 1 to 16"}},
      {ask + "--grid 2by2", {"--grid", "COLSxROWS"}},
      {ask + "--grid 2x2 --image-mode pad", {"--grid", "--image-mode tiles"}},
      {"describe -m " + kNoModel + " " + q(image()) + " --top-p 0", {"--top-p"}},
      {"describe -m " + kNoModel + " - - ", {"only once"}},
      {"count -m " + kNoModel + " " + q(image()) + " '  '", {"WHAT"}},
      {"batch " + q(golden_dir() + "/images") + " -m " + kNoModel + " --temperature nan", {"--temperature"}},
      {"bench -m " + kNoModel + " --warmup -1", {"--warmup", "from 0", "got '-1'"}},
      {"bench -m " + kNoModel + " --repeats 0", {"--repeats", "from 1"}},
      {"bench -m " + kNoModel + " --resolutions 256,1000", {"--resolutions", "multiple of 64", "got '1000'"}},
      {"embed -m " + kNoModel + " " + q(image()) + " -o x.npy --resolution 100", {"--resolution"}},
      {"preprocess " + q(image()) + " -o x.npy --resolution 65", {"--resolution"}},
      {"detokenize -m " + kNoModel + " 18446744073709551617", {"18446744073709551617", "out of range"}},
      {"detokenize -m " + kNoModel + " '[1, -5]'", {"-5", "out of range"}},
      {"detokenize -m " + kNoModel + " '1 2 x'", {"IDS must be integers"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    const CliRun r = run_cli(c.args);
    check_error(r, "bad_args", 2, c.wants);
  }
  // bench reads its --image before loading the model: the missing image is what is reported.
  check_error(run_cli("bench -m " + kNoModel + " --image /nonexistent/card.png"), "not_found", 3,
              {"/nonexistent/card.png"});
  // Control: valid arguments with the same missing model do reach the model, as not_found.
  check_error(run_cli(ask + "--temperature 0.5 --top-p 0.9 --seed 18446744073709551615 --max-tokens -1"),
              "not_found", 3, {});
}

TEST_CASE("hostile args: output paths are checked before the model loads, nothing is created or truncated") {
  const std::string dir = temp_path("args_outdir");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string keep = temp_path("args_keep.npy");
  write_file(keep, "keep me");
  struct Case {
    std::string args;
    std::vector<std::string> wants;
  };
  const std::string ask = "ask " + q(image()) + " hi ";
  for (const std::string& model : {kNoModel, tiny_model()}) {
    CAPTURE(model);
    const std::vector<Case> cases = {
        {ask + "-m " + q(model) + " --logits-out " + q(dir), {"--logits-out", "is a directory"}},
        {ask + "-m " + q(model) + " --logits-out /nonexistent-dir/l.npy", {"--logits-out", "does not exist"}},
        {ask + "-m " + q(model) + " --logits-out " + q(keep + "/l.npy"), {"--logits-out", "is not a folder"}},
        {ask + "-m " + q(model) + " --logits-out /proc/l.npy",
         {"--logits-out", "cannot create files in /proc"}},
        {"bench -m " + q(model) + " --plot /proc/version", {"--plot", ".png"}},
        {"bench -m " + q(model) + " --plot /proc/fastvlm.png", {"--plot", "/proc"}},
        {"bench -m " + q(model) + " --plot /nonexistent-dir/p.png", {"--plot", "does not exist"}},
        {"embed -m " + q(model) + " " + q(image()) + " -o " + q(dir), {"--output", "is a directory"}},
        {"preprocess -m " + q(model) + " " + q(image()) + " -o " + q(dir), {"--output", "is a directory"}},
        {"convert " + q(model) + " -o " + q(keep), {"--output", "not a folder"}},
    };
    for (const Case& c : cases) {
      CAPTURE(c.args);
      check_error(run_cli(c.args), "bad_args", 2, c.wants);
    }
  }
  // bench /proc/version used to print its results and then fail: now nothing but the error.
  CHECK(run_cli("bench -m " + q(tiny_model()) + " --plot /proc/version").lines.size() == 1);
  fs::create_directories(dir + ".png");  // a directory named like a plot
  check_error(run_cli("bench -m " + q(kNoModel) + " --plot " + q(dir + ".png")), "bad_args", 2,
              {"is a directory"});
  fs::remove(dir + ".png");
  for (const auto& e : fs::directory_iterator(fs::path(dir).parent_path()))  // write_npy's temporary
    CHECK_FALSE(e.path().filename().string().starts_with(fs::path(dir).filename().string() + ".tmp"));
  CHECK(fs::is_empty(dir));              // no probe file left behind
  CHECK(file_bytes(keep) == "keep me");  // an existing output is not truncated
  // A valid existing output path passes the check untouched; the missing model is what fails.
  check_error(run_cli(ask + "-m " + kNoModel + " --logits-out " + q(keep)), "not_found", 3, {});
  CHECK(file_bytes(keep) == "keep me");
  fs::remove_all(dir);
  fs::remove(keep);
}

TEST_CASE(
    "hostile args: bench with --warmup 0 --repeats 1 and a plot works (the warmup -1 crash is refused)") {
  const std::string plot = temp_path("args_bench.png");
  fs::remove(plot);
  const CliRun r =
      run_cli("bench -m " + q(tiny_model()) + " --resolutions 64 --warmup 0 --repeats 1 --plot " + q(plot));
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ok"] == true);
  CHECK(r.lines[0]["resolution"] == 64);
  CHECK(fs::file_size(plot) > 100);
  fs::remove(plot);
}

TEST_CASE("hostile args: --threads beyond the hardware threads is capped with a warning") {
  const std::string err = temp_path("args_threads.txt");
  // Under a 4 GB address-space limit 1000 threads (8 MB stacks) cannot start: libgomp would abort
  // without JSON. The capped run fits.
  const CliRun r = run_shell(memory_cap_prefix() + quoted_cli() + " ask -m " + q(tiny_model()) + " " +
                             q(image()) + " hi --max-tokens 2 --threads 1000 2> " + q(err));
  CHECK(r.exit_code == 0);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ok"] == true);
  const std::string log = file_bytes(err);
  CHECK(log.find("--threads 1000") != std::string::npos);
  CHECK(log.find("hardware thread") != std::string::npos);
  fs::remove(err);
}

TEST_CASE("hostile args: too_large says what overflowed and what to change") {
  const int ctx = tiny_context();
  const std::string ask = "ask -m " + q(tiny_model()) + " " + q(image()) + " ";
  // A question longer than the whole context: the text, not the image, is the problem.
  CliRun r = run_cli(ask + q(words(ctx + 100)));
  check_error(r, "too_large", 3, {"text", "shorten the question", std::to_string(ctx)});
  CHECK(error_message(r).find("--grid") == std::string::npos);
  CHECK(r.lines[0]["error"]["detail"]["text_tokens"].get<int>() > ctx);
  // A short question with a --max-tokens past the context: lower --max-tokens, by how much.
  r = run_cli(ask + "hi --max-tokens 100000");
  check_error(r, "too_large", 3, {"--max-tokens 100000", "--max-tokens 0", std::to_string(ctx)});
  REQUIRE(r.lines[0]["error"].contains("detail"));
  const auto& d = r.lines[0]["error"]["detail"];
  const int room = ctx - d["prompt_tokens"].get<int>();
  CHECK(d["context_length"] == ctx);
  CHECK(d["prompt_tokens"] == d["image_tokens"].get<int>() + d["text_tokens"].get<int>());
  CHECK(error_message(r).find("use --max-tokens " + std::to_string(room) + " or less") != std::string::npos);
  // Too many image tokens: the image options are what to change.
  r = run_cli(ask + "hi --resolution 1024 --grid 6x6 --max-tokens 4");
  check_error(r, "too_large", 3, {"image", "--resolution", "--grid (now 6x6)"});
}

TEST_CASE("hostile args: --max-tokens 0 and -1 generate until the context is full") {
  // The tiny model with a context of 1024 tokens (tokenizer_model_max_length in its config.json):
  // filling the tiny model's own 8192 took a prefill of 8k tokens per run (17 s under ASan).
  const std::string model = tiny_model_copy("ctx1024");
  {
    auto c = nlohmann::json::parse(std::ifstream(model + "/config.json"));
    c["tokenizer_model_max_length"] = 1024;
    std::ofstream(model + "/config.json") << c.dump(1);
  }
  const int ctx = model_context(model);
  REQUIRE(ctx == 1024);
  const int room = 12;
  const std::string ask = "ask -m " + q(model) + " " + q(image()) + " ";
  // Measure the prompt for a 100-word question, then size the question to leave `room` tokens.
  CliRun r = run_cli(ask + q(words(100)) + " --max-tokens 100000");
  REQUIRE(r.lines.size() == 1);
  const int p100 = r.lines[0]["error"]["detail"]["prompt_tokens"].get<int>();
  const std::string question = q(words(100 + ctx - room - p100));
  for (const char* n : {"0", "-1"}) {
    CAPTURE(n);
    r = run_cli(ask + question + " --ignore-eos --max-tokens " + n);
    CHECK(r.exit_code == 0);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0]["ok"] == true);
    CHECK(r.lines[0]["finish_reason"] == "length");
    CHECK(r.lines[0]["n_prompt_tokens"].get<int>() + int(r.lines[0]["token_ids"].size()) == ctx);
    CHECK(int(r.lines[0]["token_ids"].size()) == room);
  }
  std::string help;
  CHECK(run_command(quoted_cli() + " ask --help", help) == 0);
  CHECK(help.find("until the model's context is full") != std::string::npos);
}

TEST_CASE("hostile images: a valid GIF or float TIFF is unsupported (exit 5), garbage stays bad_image") {
  const std::string gif = temp_path("args_tiny.gif");
  write_file(gif, tiny_gif());
  const std::string tif = float_tiff(temp_path("args_float.tiff"));
  CHECK(cv::imread(tif, cv::IMREAD_UNCHANGED).depth() == CV_32F);  // the file really holds float samples
  const std::string junk = temp_path("args_junk.png");
  write_file(junk, "this is not an image at all, just text with a .png name");

  const std::string ask = "ask -m " + q(tiny_model()) + " ";
  check_error(run_cli(ask + q(gif) + " hi --max-tokens 2"), "unsupported", 5, {"GIF", "not supported"});
  check_error(run_cli(ask + q(tif) + " hi --max-tokens 2"), "unsupported", 5, {"TIFF", "32-bit float"});
  check_error(run_cli(ask + q(junk) + " hi --max-tokens 2"), "bad_image", 3, {});
  // The library says the same, so batch lines carry the same code.
  const std::string gif_bytes = tiny_gif();
  try {
    fvlm::decode_image(std::span(reinterpret_cast<const uint8_t*>(gif_bytes.data()), gif_bytes.size()), "g",
                       0);
    FAIL("a GIF decoded");
  } catch (const fvlm::Error& e) {
    CHECK(e.code() == fvlm::Errc::kUnsupported);
  }
  try {
    fvlm::load_image(tif);
    FAIL("a float TIFF decoded");
  } catch (const fvlm::Error& e) {
    CHECK(e.code() == fvlm::Errc::kUnsupported);
  }
  fs::remove(gif);
  fs::remove(tif);
  fs::remove(junk);
}

TEST_CASE("hostile images: a FIFO or a process substitution as IMAGE is read as a stream") {
  const std::string ask_args = " hi --max-tokens 3 --ignore-eos";
  const CliRun ref = run_cli("ask -m " + q(tiny_model()) + " " + q(image()) + ask_args);
  REQUIRE(ref.lines.size() == 1);
  REQUIRE(ref.lines[0]["ok"] == true);

  const std::string fifo = temp_path("args_image.fifo");
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The writer gives up after 60 s if the reader never opens the FIFO, so a failure cannot hang.
  const CliRun f = run_shell("(timeout 60 cat " + q(image()) + " > " + q(fifo) + " &); " + quoted_cli() +
                             " ask -m " + q(tiny_model()) + " " + q(fifo) + ask_args + " 2>/dev/null");
  CHECK(f.exit_code == 0);
  REQUIRE(f.lines.size() == 1);
  CHECK(f.lines[0]["ok"] == true);
  CHECK(f.lines[0]["token_ids"] == ref.lines[0]["token_ids"]);
  fs::remove(fifo);

  const CliRun p = run_shell("bash -c \"" + quoted_cli() + " ask -m " + q(tiny_model()) + " <(cat " +
                             q(image()) + ")" + ask_args + "\" 2>/dev/null");
  CHECK(p.exit_code == 0);
  REQUIRE(p.lines.size() == 1);
  CHECK(p.lines[0]["ok"] == true);
  CHECK(p.lines[0]["token_ids"] == ref.lines[0]["token_ids"]);

  // An endless stream that is not an image is refused from its first block, not read to the cap.
  check_error(run_cli("ask -m " + q(tiny_model()) + " /dev/zero hi --max-tokens 2"), "bad_image", 3,
              {"/dev/zero"});
  // A directory is an argument error.
  check_error(run_cli("ask -m " + q(tiny_model()) + " " + q(golden_dir()) + " hi"), "bad_args", 2,
              {"is a directory"});
}
