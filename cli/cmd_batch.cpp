// `batch INPUT --task T`: a task over a folder, a list file, or paths on stdin ("-"); JSON Lines.
// A failed image is recorded and the batch goes on; with -o the results are appended to a file
// line by line (nothing written before is touched) and --resume skips images already done.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/image_input.h"
#include "cli/output.h"
#include "cli/tasks.h"

namespace fvlm::cli {
namespace {
namespace fs = std::filesystem;

struct BatchCommand {
  std::string input;
  std::string task = "describe";
  std::string question, what;
  std::string output;
  bool resume = false;
  bool recursive = false;
  RunOptions run;
};

bool is_image_name(const fs::path& p) {
  static const std::set<std::string> exts = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".jpe"};
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return exts.count(e) > 0;
}

std::vector<std::string> read_lines(std::istream& in) {
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

// The images named by INPUT: a directory (sorted), a list file (one path per line), or "-".
std::vector<std::string> list_inputs(const BatchCommand& b) {
  if (b.input == "-") return read_lines(std::cin);
  if (!fs::exists(b.input)) throw Error(Errc::kNotFound, fmt::format("batch input not found: {}", b.input));
  std::vector<std::string> out;
  if (fs::is_directory(b.input)) {
    auto add = [&](const fs::directory_entry& e) {
      if (e.is_regular_file() && is_image_name(e.path())) out.push_back(e.path().string());
    };
    if (b.recursive)
      for (const auto& e : fs::recursive_directory_iterator(b.input)) add(e);
    else
      for (const auto& e : fs::directory_iterator(b.input)) add(e);
    std::sort(out.begin(), out.end());
    return out;
  }
  std::ifstream f(b.input);
  return read_lines(f);
}

// Images already answered successfully in an earlier run's output file.
std::set<std::string> done_in(const std::string& output) {
  std::set<std::string> done;
  std::ifstream f(output);
  std::string line;
  while (std::getline(f, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("ok", false) && j.contains("image")) done.insert(j["image"].get<std::string>());
  }
  return done;
}

int run_batch(BatchCommand& b) {
  TaskSpec t;
  t.task = parse_task(b.task);
  t.question = b.question;
  t.what = b.what;
  if (t.task == Task::kAsk && t.question.empty()) throw Error(Errc::kBadArgs, "--task ask needs --question");
  if (t.task == Task::kCount && t.what.empty()) throw Error(Errc::kBadArgs, "--task count needs --what");
  if (!b.run.logits_out.empty()) throw Error(Errc::kBadArgs, "--logits-out is not available in batch");
  if (b.resume && b.output.empty()) throw Error(Errc::kBadArgs, "--resume needs -o/--output");
  finish_run_options(b.run);
  std::vector<std::string> images = list_inputs(b);
  if (b.resume) {
    const auto done = done_in(b.output);
    const size_t before = images.size();
    std::erase_if(images, [&](const std::string& s) { return done.count(s) > 0; });
    spdlog::info("resume: {} of {} images already done", before - images.size(), before);
  }
  std::ofstream out;
  if (!b.output.empty()) {
    out.open(b.output, std::ios::app);
    if (!out) throw Error(Errc::kBadArgs, fmt::format("cannot append to {}", b.output));
  }
  std::unique_ptr<Pipeline> p = load_pipeline(b.run.model, /*many_images=*/true);
  const int64_t max_pixels = b.run.image.max_pixels;
  auto decode = [max_pixels](const std::string& path) { return load_image(path, max_pixels); };
  std::future<Image> next;
  if (!images.empty()) next = std::async(std::launch::async, decode, images[0]);
  int failed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < images.size(); ++i) {
    nlohmann::ordered_json result;
    try {
      Image img = next.get();   // rethrows this image's decode error
      if (i + 1 < images.size()) next = std::async(std::launch::async, decode, images[i + 1]);
      result = run_task_on_image(*p, t, images[i], img, b.run);
    } catch (const Error& e) {
      if (i + 1 < images.size() && !next.valid()) next = std::async(std::launch::async, decode, images[i + 1]);
      ++failed;
      result = error_json(e.code(), e.what(), e.detail(), images[i]);
    }
    emit(result);
    if (out.is_open()) {
      out << result.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
      out.flush();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("[{}/{}] {} {} ({:.2f} images/s)", i + 1, images.size(), images[i],
                 result["ok"].get<bool>() ? "ok" : std::string(result["error"]["code"]), double(i + 1) / s);
  }
  spdlog::info("batch: {} images, {} failed", images.size(), failed);
  return failed ? kExitSomeFailed : kExitOk;
}

}  // namespace

void add_batch_command(CLI::App& app, int& exit_code) {
  auto b = std::make_shared<BatchCommand>();
  auto* cmd = app.add_subcommand("batch", "Run a task over a folder, a list file, or paths on stdin (-); JSON Lines");
  cmd->add_option("input", b->input, "Folder of images, a file listing image paths, or - (paths on stdin)")
      ->required();
  cmd->add_option("--task", b->task, "describe (default) | ocr | count | ask")
      ->check(CLI::IsMember({"describe", "ocr", "count", "ask"}));
  cmd->add_option("--question", b->question, "The question for --task ask");
  cmd->add_option("--what", b->what, "What to count for --task count");
  cmd->add_option("-o,--output", b->output, "Also append each result line to this file");
  cmd->add_flag("--resume", b->resume, "Skip images with an ok result already in --output");
  cmd->add_flag("-r,--recursive", b->recursive, "Walk sub-folders of a folder input");
  add_run_options(cmd, b->run);
  cmd->callback([b, &exit_code] { exit_code = run_batch(*b); });
}

}  // namespace fvlm::cli
