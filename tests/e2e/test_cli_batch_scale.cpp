// Batch at scale (issue 13): shards that together answer every image exactly once, K/N taken from
// Slurm and Kubernetes variables, {shard} in -o, the summary object, and clean stops on SIGTERM /
// SIGINT (whole lines, exit 143 / 130, --resume finishes the job).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "tests/e2e/batch_fixture.h"

using namespace fvlm::test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> set_of(const std::multiset<std::string>& m) { return {m.begin(), m.end()}; }

// FNV-1a 64 as published (offset basis 14695981039346656037, prime 1099511628211): the shard of a
// path must be this on every machine, so it is written out here independently of the CLI's code.
uint64_t fnv1a64_reference(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The summary object among the stderr lines.
nlohmann::json summary_in(const std::string& err) {
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("summary", "") == "batch") return j;
  }
  return nullptr;
}

// Starts `fastvlm args` in the background, stdout and stderr to files; returns its pid.
pid_t spawn_cli(const std::string& args, const fs::path& out, const fs::path& err) {
  const std::string cmd = "exec " + quoted_cli() + " " + args + " >" + q(out) + " 2>" + q(err);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits until `file` holds at least `lines` newlines (false after `seconds`).
bool wait_for_lines(const fs::path& file, size_t lines, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    const std::string t = read_text(file);
    if (size_t(std::count(t.begin(), t.end(), '\n')) >= lines) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int wait_exit_code(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace

TEST_CASE("cli batch shards: 3 shard processes answer every image exactly once, as an unsharded run") {
  const fs::path dir = make_image_folder("shards", 12);
  const auto all = run_cli_env("", "batch " + q(dir) + " " + model_arg(1) + "");
  REQUIRE(all.run.exit_code == 0);
  REQUIRE(all.run.lines.size() == 12);
  std::multiset<std::string> shard_union;
  int nonempty = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string out = (dir / "res-{shard}.jsonl").string();
    const auto r = run_cli_env(
        "", "batch " + q(dir) + " " + model_arg(1) + " --shard " + std::to_string(k) + "/3 -o '" + out + "'");
    CHECK(r.run.exit_code == 0);
    const JsonLines f = read_jsonl(dir / ("res-" + std::to_string(k) + ".jsonl"));
    CHECK(f.whole);
    CHECK(f.lines.size() == r.run.lines.size());
    for (const auto& j : f.lines) {
      const std::string image = j["image"];
      shard_union.insert(image);
      CHECK(fnv1a64_reference(fs::path(image).filename().string()) % 3 == uint64_t(k));  // stable hash
    }
    nonempty += !f.lines.empty();
    const auto s = summary_in(r.err);
    REQUIRE(s.is_object());
    CHECK(s["shard"] == std::to_string(k) + "/3");
    CHECK(s["images"]["listed"] == 12);
    CHECK(s["images"]["total"] == f.lines.size());
  }
  CHECK(nonempty >= 2);             // the hash spreads 12 names over the shards
  CHECK(shard_union.size() == 12);  // nothing answered twice
  CHECK(set_of(shard_union) == set_of(images_of(all.run.lines)));  // nothing missed
  // Adding files moves few: the old images keep their shard (the hash is of the name, not the position).
  fs::copy_file(golden_image("wide.png"), dir / "aaa_first.png");
  const auto again = run_cli_env("", "batch " + q(dir) + " " + model_arg(1) + " --shard 0/3 -o " +
                                         q(dir / "res-{shard}.jsonl") + " --resume");
  CHECK(again.run.lines.size() <= 1);
  fs::remove_all(dir);
}

TEST_CASE("cli batch shards: K/N from Slurm array and Kubernetes Indexed Job variables") {
  const fs::path dir = make_image_folder("shard_env", 8);
  auto images_for = [&](const std::string& env, const std::string& extra) {
    const auto r = run_cli_env(env, "batch " + q(dir) + " " + model_arg(1) + " " + extra);
    CHECK(r.run.exit_code == 0);
    return set_of(images_of(r.run.lines));
  };
  const auto shard1 = images_for("", "--shard 1/3");
  // Slurm: --array=4-6 gives IDs 4,5,6 with MIN 4, COUNT 3: ID 5 is shard 1.
  CHECK(images_for("SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=4", "") == shard1);
  // Kubernetes Indexed Job: the index, and the completions passed as --shards.
  CHECK(images_for("JOB_COMPLETION_INDEX=1", "--shards 3") == shard1);
  CHECK(images_for("JOB_COMPLETION_INDEX=2", "--shards 3") != shard1);
  // The shard of an image does not depend on how INPUT is spelled.
  const auto spelled =
      run_cli_env("cd " + q(dir.parent_path()) + " &&",
                  "batch ./" + dir.filename().string() + "/ " + model_arg(1) + " --shard 1/3");
  std::set<std::string> names, names1;
  for (const auto& image : images_of(spelled.run.lines)) names.insert(fs::path(image).filename().string());
  for (const auto& image : shard1) names1.insert(fs::path(image).filename().string());
  CHECK(names == names1);
  // --shard wins over the environment.
  CHECK(images_for("SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3", "--shard 1/3") == shard1);
  // {shard} in -o and --summary become K, and the summary names the shard.
  const auto r = run_cli_env("SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=4",
                             "batch " + q(dir) + " " + model_arg() + " -o " + q(dir / "r-{shard}.jsonl") +
                                 " --summary " + q(dir / "s-{shard}.json"));
  CHECK(fs::exists(dir / "r-1.jsonl"));
  const auto summary = nlohmann::json::parse(read_text(dir / "s-1.json"), nullptr, false);
  REQUIRE(summary.is_object());
  CHECK(summary["shard"] == "1/3");
  CHECK(r.err.find("SLURM_ARRAY_TASK_ID=5") != std::string::npos);  // the chosen K/N is logged
  // Inconsistent or incomplete choices are bad_args, before any work.
  for (const auto& [env, extra] : std::vector<std::pair<std::string, std::string>>{
           {"JOB_COMPLETION_INDEX=1", ""},                                    // --shards missing
           {"JOB_COMPLETION_INDEX=3", "--shards 3"},                          // K out of range
           {"SLURM_ARRAY_TASK_ID=9 SLURM_ARRAY_TASK_COUNT=3", ""},            // no MIN: ID 9 of 3
           {"SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3", "--shards 4"},  // disagree
           {"", "--shards 3"},                                                // no scheduler
           {"", "--shard 3/3"},
           {"", "--shard 1-3"}}) {
    CAPTURE(env);
    CAPTURE(extra);
    const auto bad = run_cli_env(env, "batch " + q(dir) + " " + model_arg() + " " + extra);
    CHECK(bad.run.exit_code == 2);
    REQUIRE(bad.run.lines.size() == 1);
    CHECK(bad.run.lines[0]["error"]["code"] == "bad_args");
  }
  fs::remove_all(dir);
}

TEST_CASE("cli batch: summary object on stderr and in --summary, and -q keeps stderr quiet") {
  const fs::path dir = make_image_folder("summary", 3);
  std::ofstream(dir / "zz_broken.png") << "not a png";
  const auto r = run_cli_env("", "batch " + q(dir) + " " + model_arg() + " --summary " + q(dir / "s.json"));
  CHECK(r.run.exit_code == 1);
  const auto s = summary_in(r.err);
  REQUIRE(s.is_object());
  CHECK(s["images"]["total"] == 4);
  CHECK(s["images"]["ok"] == 3);
  CHECK(s["images"]["failed"] == 1);
  CHECK(s["failed_by_code"]["bad_image"] == 1);
  CHECK(s["wall_s"].get<double>() > 0);
  CHECK(s["images_per_s"].get<double>() > 0);
  CHECK(s["mean_ttft_ms"].get<double>() > 0);
  CHECK(s["peak_rss_mb"].get<double>() > 1);
  CHECK(s["exit_code"] == 1);
  CHECK(s["interrupted"].is_null());
  CHECK(nlohmann::json::parse(read_text(dir / "s.json")) == s);
  const auto quiet =
      run_cli_env("", "-q batch " + q(dir) + " " + model_arg() + " --summary " + q(dir / "q.json"));
  CHECK(quiet.run.exit_code == 1);
  CHECK(summary_in(quiet.err).is_null());
  CHECK(quiet.err.find("done") == std::string::npos);  // no progress line either
  CHECK(fs::exists(dir / "q.json"));
  fs::remove_all(dir);
}

TEST_CASE("cli batch: on a terminal the progress line is redrawn in place and cleared before log lines") {
  const fs::path dir = make_image_folder("tty", 3);
  const fs::path typescript = dir / "tty.txt";
  // script(1) gives the batch a pseudo-terminal; -v adds log lines that must not run into the progress line.
  const std::string cmd = "script -qec \"" + quoted_cli() + " batch " + q(dir) + " " + model_arg() +
                          " -v\" " + q(typescript) + " >/dev/null 2>&1";
  std::string ignored;
  REQUIRE(run_command(cmd, ignored) == 0);
  const std::string t = read_text(typescript);
  CHECK(t.find("\r\x1b[Kbatch 0/3 done") != std::string::npos);
  // Every log line starts on a cleared line (after "\r\x1b[K") or a fresh one, never after progress text.
  const std::regex stamp(R"(\[\d\d:\d\d:\d\d\.\d{3}\])");
  int logs = 0;
  for (auto m = std::sregex_iterator(t.begin(), t.end(), stamp); m != std::sregex_iterator(); ++m, ++logs) {
    const size_t at = size_t(m->position());
    CHECK(((at >= 3 && t.compare(at - 3, 3, "\x1b[K") == 0) || at == 0 || t[at - 1] == '\n'));
  }
  CHECK(logs >= 4);  // the load line and one per image
  fs::remove_all(dir);
}

TEST_CASE(
    "cli batch: SIGTERM finishes the image in flight, exits 143 with whole lines, and --resume finishes") {
  const fs::path dir = make_image_folder("sigterm", 40);
  const fs::path out = dir / "out.jsonl";
  const std::string args =
      "batch " + q(dir) + " -m '" + tiny_model() + "' --max-tokens 16 --ignore-eos -o " + q(out);
  const pid_t pid =
      spawn_cli(args + " --summary " + q(dir / "s.json"), dir / "stdout.txt", dir / "stderr.txt");
  REQUIRE(wait_for_lines(out, 1, 120));
  ::kill(pid, SIGTERM);
  CHECK(wait_exit_code(pid) == 143);
  const JsonLines f = read_jsonl(out);
  CHECK(f.whole);
  CHECK(f.lines.size() < 40);  // it stopped early
  for (const auto& j : f.lines) CHECK(j["ok"] == true);
  const auto s = nlohmann::json::parse(read_text(dir / "s.json"), nullptr, false);
  REQUIRE(s.is_object());
  CHECK(s["interrupted"] == "SIGTERM");
  CHECK(s["exit_code"] == 143);
  CHECK(s["images"]["ok"] == f.lines.size());
  CHECK(s["images"]["not_done"] == 40 - f.lines.size());
  CHECK(summary_in(read_text(dir / "stderr.txt")) == s);
  const auto rest = run_cli_env("", args + " --resume");
  CHECK(rest.run.exit_code == 0);
  const JsonLines g = read_jsonl(out);
  CHECK(g.whole);
  CHECK(g.lines.size() == 40);
  CHECK(set_of(images_of(g.lines)).size() == 40);  // each image once
  fs::remove_all(dir);
}

TEST_CASE("cli batch: a second SIGINT exits at once (130), the file still whole") {
  const fs::path dir = make_image_folder("sigint2", 40);
  const fs::path out = dir / "out.jsonl";
  // --parallel 1: the first line comes after one image's 400 tokens (images that run together
  // finish together, later on a loaded machine), and an image is surely in flight at the signals.
  const std::string args = "batch " + q(dir) + " -m '" + tiny_model() +
                           "' --max-tokens 400 --ignore-eos --parallel 1 -o " + q(out);
  const pid_t pid =
      spawn_cli(args + " --summary " + q(dir / "s.json"), dir / "stdout.txt", dir / "stderr.txt");
  REQUIRE(wait_for_lines(out, 1, 120));
  // Standard signals do not queue: send the second only once the first has been handled.
  ::kill(pid, SIGINT);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (read_text(dir / "stderr.txt").find("stopping after the image") == std::string::npos &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, SIGINT);
  CHECK(wait_exit_code(pid) == 130);
  CHECK(!fs::exists(dir / "s.json"));  // no summary: it did not wait for the image in flight
  const JsonLines f = read_jsonl(out);
  CHECK(f.whole);
  for (const auto& j : f.lines) CHECK(j.is_object());
  fs::remove_all(dir);
}

TEST_CASE("cli batch -: one SIGINT while the list is still coming on stdin stops it (130, summary)") {
  const fs::path dir = make_image_folder("sigint_stdin", 2);
  const fs::path fifo = dir / "list.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Held open for writing and never closed before the signal: the list never reaches EOF.
  const int writer = ::open(fifo.c_str(), O_RDWR);
  REQUIRE(writer >= 0);
  const std::string first = (dir / "img00.png").string() + "\n";
  REQUIRE(::write(writer, first.data(), first.size()) == ssize_t(first.size()));
  const pid_t pid =
      spawn_cli("batch - -m '" + tiny_model() + "' --summary " + q(dir / "s.json") + " <" + q(fifo),
                dir / "stdout.txt", dir / "stderr.txt");
  REQUIRE(pid > 0);
  // The handlers are in place once the process is fastvlm (no longer the sh that execs it) and
  // SIGINT shows among its caught signals (SigCgt, bit 1 = SIGINT).
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  auto sigint_caught = [&] {
    if (read_text(proc + "comm") != "fastvlm\n") return false;
    const std::string status = read_text(proc + "status");
    const size_t at = status.find("SigCgt:\t");
    return at != std::string::npos && (std::stoull(status.substr(at + 8, 16), nullptr, 16) & 2) != 0;
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!sigint_caught() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(sigint_caught());
  ::kill(pid, SIGINT);
  int st = 0;
  pid_t reaped = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((reaped = ::waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (reaped == 0) {  // still waiting for the list: the bug this test is about
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    ::close(writer);
    FAIL("batch - still reading stdin 30 s after one SIGINT");
  }
  ::close(writer);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 130);
  const auto s = nlohmann::json::parse(read_text(dir / "s.json"), nullptr, false);
  REQUIRE(s.is_object());
  CHECK(s["interrupted"] == "SIGINT");
  CHECK(s["images"]["ok"] == 0);  // stopped before the model was loaded: nothing answered
  CHECK(s["images"]["listed"] <= 1);
  CHECK(read_text(dir / "stdout.txt").empty());
  fs::remove_all(dir);
}

TEST_CASE("cli batch: a bad INPUT creates no -o file, a model that fails to load still writes the summary") {
  const fs::path dir = temp_path("batch_early_failures");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const CliRun bad_input = run_cli("batch " + q(dir / "missing") + " -m " + q(tiny_model()) + " -o " +
                                   q(dir / "out.jsonl") + " -q");
  CHECK(bad_input.exit_code == 3);
  CHECK(!fs::exists(dir / "out.jsonl"));
  const CliRun bad_model = run_cli("batch " + q(golden_image("wide.png")) + " -m " + q(dir / "no_model") +
                                   " --summary " + q(dir / "s.json") + " -q");
  CHECK(bad_model.exit_code == 3);
  REQUIRE(fs::exists(dir / "s.json"));
  const auto s = nlohmann::json::parse(read_text(dir / "s.json"));
  CHECK(s["exit_code"] == 3);
  CHECK(s["images"]["not_done"] == 1);
  fs::remove_all(dir);
}
