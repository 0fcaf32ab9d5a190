// `convert` that fails or is killed part-way: the earlier complete GGUF pair in OUTDIR stays as it
// was (both files), no temporary file is left behind, and a write failure is the documented
// {"ok":false,"error":{"code":"io_error"}} with exit code 74.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "models/convert.h"
#include "tests/e2e/cli_runner.h"
#include "tests/test_util.h"

using namespace fvlm;
using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

struct Pair {
  std::string llm, vision;
};
Pair read_pair(const std::string& dir) {
  return {file_bytes((fs::path(dir) / kGgufLlmFile).string()),
          file_bytes((fs::path(dir) / kGgufVisionFile).string())};
}

// A complete q8_0 pair in a fresh OUTDIR: the "earlier output" every case must preserve.
std::string make_earlier_output(const std::string& name) {
  const std::string out = temp_path(name);
  fs::remove_all(out);
  const CliRun r = run_cli("convert '" + tiny_model() + "' -o '" + out + "' --type q8_0");
  REQUIRE(r.exit_code == 0);
  REQUIRE(entries(out) == std::set<std::string>{kGgufLlmFile, kGgufVisionFile});
  return out;
}

// `fastvlm convert` of the tiny model to `out`, as a shell command (stderr dropped).
std::string convert_command(const std::string& out, const std::string& type) {
  return quoted_cli() + " convert '" + tiny_model() + "' -o '" + out + "' --type " + type + " 2>/dev/null";
}

// Runs a shell command line; its stdout lines parsed as JSON.
CliRun run_shell_json_lines(const std::string& cmd) {
  CliRun r;
  r.exit_code = run_command(cmd, r.stdout_text);
  std::string line;
  for (char c : r.stdout_text) {
    if (c != '\n') {
      line += c;
      continue;
    }
    r.lines.push_back(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
    line.clear();
  }
  return r;
}

void check_io_error(const CliRun& r) {
  CHECK(r.exit_code == 74);
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0]["ok"] == false);
  CHECK(r.lines[0]["error"]["code"] == "io_error");
  CHECK(!r.lines[0]["error"]["message"].get<std::string>().empty());
}

}  // namespace

TEST_CASE(
    "convert: a write failing mid-file (file size limit) keeps the earlier pair, leaves no temporaries") {
  const std::string out = make_earlier_output("atomic_fsize");
  const Pair before = read_pair(out);
  // The file size limit (2048 blocks: 1 or 2 MB by the shell's block size) is passed inside the
  // 45 MB f32 LLM file (tokenizer, then tensors) while the earlier 16 MB file is still in place.
  // SIGXFSZ ignored: write(2) fails with EFBIG instead of the signal killing the process.
  const CliRun r = run_shell_json_lines("trap '' XFSZ; ulimit -f 2048; exec " + convert_command(out, "f32"));
  check_io_error(r);
  CHECK(entries(out) == std::set<std::string>{kGgufLlmFile, kGgufVisionFile});
  const Pair after = read_pair(out);
  CHECK(after.llm == before.llm);
  CHECK(after.vision == before.vision);
  fs::remove_all(out);
}

TEST_CASE("convert: an output name taken by a directory fails before replacing either file") {
  const std::string out = make_earlier_output("atomic_dir");
  const Pair before = read_pair(out);
  fs::remove(fs::path(out) / kGgufLlmFile);
  fs::create_directory(fs::path(out) / kGgufLlmFile);
  check_io_error(run_shell_json_lines(convert_command(out, "f16")));
  CHECK(entries(out) == std::set<std::string>{kGgufLlmFile, kGgufVisionFile});
  CHECK(fs::is_directory(fs::path(out) / kGgufLlmFile));
  CHECK(file_bytes((fs::path(out) / kGgufVisionFile).string()) == before.vision);
  fs::remove_all(out);
}

TEST_CASE("convert: killed part-way (SIGKILL) leaves a whole pair and no temporaries") {
  const std::string out = make_earlier_output("atomic_kill");
  const Pair before = read_pair(out);
  // Killed as soon as it holds a file open in OUTDIR (polled in /proc/PID/fd): mid-stream.
  const CliRun killed = run_shell_json_lines(
      "{ (exec " + convert_command(out, "f32") +
      ") & pid=$!; i=0; "
      "while [ $i -lt 1000 ] && ! ls -l /proc/$pid/fd 2>/dev/null | grep -q '" +
      out +
      "/'; do sleep 0.01; i=$((i+1)); done; "
      "[ $i -lt 1000 ] && echo '{\"writing\":true}'; kill -9 $pid; wait $pid; } 2>/dev/null; exit 0");
  REQUIRE(killed.lines.size() == 1);
  CHECK(killed.lines[0] == nlohmann::json{{"writing", true}});
  CHECK(entries(out) == std::set<std::string>{kGgufLlmFile, kGgufVisionFile});
  const Pair after = read_pair(out);
  const std::string fresh = temp_path("atomic_kill_fresh");
  fs::remove_all(fresh);
  REQUIRE(run_cli("convert '" + tiny_model() + "' -o '" + fresh + "' --type f32").exit_code == 0);
  const Pair complete = read_pair(fresh);
  CHECK((after.llm == before.llm || after.llm == complete.llm));
  CHECK((after.vision == before.vision || after.vision == complete.vision));
  fs::remove_all(out);
  fs::remove_all(fresh);
}
