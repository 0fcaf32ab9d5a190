// `batch INPUT --task T`: a task over a folder, a list file, one image, or paths on stdin ("-");
// JSON Lines. A failed image is recorded and the batch goes on. With -o the results are appended
// to a locked file, whole lines only, and --resume skips images already answered with the same
// settings. --shard K/N (or the scheduler's environment) takes one slice of INPUT; SIGINT/SIGTERM
// finish the image in flight and write the summary.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <set>

#include "cli/batch_inputs.h"
#include "cli/batch_key.h"
#include "cli/batch_output.h"
#include "cli/batch_summary.h"
#include "cli/commands.h"
#include "cli/engine_report.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/run_many.h"
#include "cli/stop_signals.h"
#include "cli/tasks.h"

namespace fvlm::cli {
namespace {

struct BatchCommand {
  std::string input;
  std::string task = "describe";
  std::string question, what;
  std::string output;   // may contain {shard}
  std::string summary;  // --summary F.json, may contain {shard}
  std::string shard;    // --shard K/N
  int shards = 0;       // --shards N (with JOB_COMPLETION_INDEX / a Slurm array)
  bool resume = false;
  bool recursive = false;
  RunOptions run;
};

// What the loop over the images needs besides the items.
struct BatchRun {
  Pipeline& pipeline;
  const TaskSpec& task;
  const RunOptions& run;
  ResultFile* out;  // null: stdout only
  BatchStats& stats;
  Progress& progress;
  const StopSignals& stop;
  bool stdout_is_terminal = ::isatty(STDOUT_FILENO);  // then results share the screen with the progress line
};

TaskSpec checked_task(const BatchCommand& b) {
  TaskSpec t;
  t.task = parse_task(b.task);
  t.question = b.question;
  t.what = b.what;
  if (t.task == Task::kAsk && t.question.empty()) throw Error(Errc::kBadArgs, "--task ask needs --question");
  if (t.task == Task::kCount && t.what.empty()) throw Error(Errc::kBadArgs, "--task count needs --what");
  if (!b.run.logits_out.empty()) throw Error(Errc::kBadArgs, "--logits-out is not available in batch");
  if (b.resume && b.output.empty()) throw Error(Errc::kBadArgs, "--resume needs -o/--output");
  return t;
}

// A note for the person watching (not a log line: shown at the default level, hidden by -q).
void note(Progress& progress, bool quiet, const std::string& text) {
  if (quiet) return;
  progress.print_above([&] { std::fprintf(stderr, "fastvlm batch: %s\n", text.c_str()); });
}

// One result: to the file first (so stdout never shows a result that is not saved), then stdout.
void record(BatchRun& r, const nlohmann::ordered_json& result) {
  if (r.out) r.out->append(result.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  if (r.stdout_is_terminal)
    r.progress.print_above([&] { emit(result); });
  else
    emit(result);
  if (!r.out && std::ferror(stdout))
    throw Error(Errc::kIoError, "cannot write results to stdout (disk full or closed?)");
  r.stats.add(result);
  r.progress.update(r.stats);
}

// Answers the items through the engine (--parallel images generated together), recording each in
// input order (or as it finishes with --unordered). Images are decoded on this thread, a window
// ahead of the engine. A stop signal stops new submissions; the images in flight finish and are
// recorded.
void answer_items(BatchRun& r, const std::vector<BatchItem>& items) {
  std::unique_ptr<Engine> engine = Engine::create(r.pipeline, r.run.engine);
  ManyRequests m;
  m.count = items.size();
  m.window = request_window(*engine);
  m.unordered = r.run.unordered;
  m.stop = [&] { return r.stop.received() != 0; };
  m.make = [&](size_t i) {
    if (items[i].unreadable) throw Error(items[i].error_code, items[i].error_message);
    return task_request(r.task, load_image(items[i].path, r.run.image.max_pixels), r.run);
  };
  m.done = [&](size_t i, std::future<GenerateResult>& f) {
    nlohmann::ordered_json result;
    try {
      const GenerateResult g = f.get();
      if (r.run.stream) std::fputc('\n', stderr);
      result = task_result_json(r.pipeline, r.task, items[i].path, g, r.run);
    } catch (const Error& e) {
      result = error_json(e.code(), e.what(), e.detail(), items[i].path);
    }
    result["key"] = items[i].key;
    record(r, result);
    spdlog::info("[{}/{}] {} {}", r.stats.done(), r.stats.to_do(), items[i].path,
                 result["ok"].get<bool>() ? "ok" : std::string(result["error"]["code"]));
  };
  try {
    run_many(*engine, m);
  } catch (...) {  // results cannot be written: the summary still says what the engine did
    r.stats.engine = engine_json(*engine);
    throw;
  }
  r.stats.engine = engine_json(*engine);
}

void write_summary(const BatchCommand& b, const BatchStats& stats, int exit_code, bool quiet) {
  const nlohmann::ordered_json j = summary_json(stats, exit_code);
  if (!quiet) std::fprintf(stderr, "%s\n", j.dump().c_str());
  if (!b.summary.empty()) write_summary_file(expand_shard(b.summary, stats.shard), j);
}

// The items this process answers: INPUT's listing and this shard's slice (a bad INPUT throws here,
// before -o is created), keyed for --resume. A stop signal ends the listing (stdin) early.
std::vector<BatchItem> items_to_answer(const BatchCommand& b, const TaskSpec& t, BatchStats& stats,
                                       const StopSignals& stop) {
  std::vector<BatchItem> items =
      list_batch_inputs(b.input, b.recursive, [&] { return stop.received() != 0; });
  stats.listed = int64_t(items.size());
  std::erase_if(items, [&](const BatchItem& it) { return !in_shard(stats.shard, it.rel); });
  stats.total = int64_t(items.size());
  const std::string fingerprint = settings_fingerprint(t, b.run);
  for (BatchItem& it : items) it.key = result_key(fingerprint, it.identity);
  return items;
}

// --resume: drops the items already answered with these settings in the output file.
void drop_answered(std::vector<BatchItem>& items, const ResultFile& out, BatchStats& stats) {
  const std::set<std::string> done = out.done_keys();
  std::erase_if(items, [&](const BatchItem& it) { return done.count(it.key) > 0; });
  stats.skipped = stats.total - int64_t(items.size());
}

// Loads the model and answers the items under a progress line. An I/O error on the results is
// returned rather than thrown, to be reported once the progress line is gone.
std::optional<Error> answer_with_progress(const BatchCommand& b, const TaskSpec& t,
                                          const std::vector<BatchItem>& items, ResultFile* out,
                                          BatchStats& stats, const StopSignals& stop, bool quiet) {
  Progress progress(b.run.stream ? Progress::Mode::kOff : Progress::mode_for_stderr(quiet));
  if (stats.shard.n > 1)
    note(progress, quiet,
         fmt::format("shard {} (from {}): {} of {} images", shard_name(stats.shard), stats.shard.source,
                     stats.total, stats.listed));
  if (b.resume)
    note(progress, quiet,
         fmt::format("resume: {} of {} images already answered with these settings in {}", stats.skipped,
                     stats.total, stats.output));
  progress.update(stats);
  if (stop.received()) return std::nullopt;  // stopped while the list was read: no model to load
  try {
    std::unique_ptr<Pipeline> p = load_pipeline(b.run.model, /*many_images=*/true);
    stats.first_image = BatchStats::Clock::now();
    BatchRun r{*p, t, b.run, out, stats, progress, stop};
    answer_items(r, items);
    if (out) out->close();
  } catch (const Error& e) {
    if (e.code() != Errc::kIoError) throw;
    return e;
  }
  return std::nullopt;
}

int run_batch(BatchCommand& b) {
  const StopSignals stop;
  BatchStats stats;
  const bool quiet = !spdlog::should_log(spdlog::level::warn);
  const TaskSpec t = checked_task(b);
  finish_run_options(b.run);
  stats.shard = choose_shard(b.shard, b.shards);
  stats.output = expand_shard(b.output, stats.shard);
  if (stats.shard.n > 1 && !b.output.empty() && b.output.find("{shard}") == std::string::npos)
    spdlog::warn("-o {} has no {{shard}}: on a shared file system the shards would lock each other out",
                 b.output);
  std::vector<BatchItem> items = items_to_answer(b, t, stats, stop);
  std::unique_ptr<ResultFile> out;  // opened (and locked) before the model loads: a conflict fails fast
  if (!stats.output.empty()) out = std::make_unique<ResultFile>(stats.output);
  if (b.resume) drop_answered(items, *out, stats);

  std::optional<Error> io_failure;
  try {
    io_failure = answer_with_progress(b, t, items, out.get(), stats, stop, quiet);
  } catch (const Error& e) {  // the model did not load (or another whole-run failure): still a summary
    write_summary(b, stats, errc_exit_code(e.code()), quiet);
    throw;
  }
  stats.stop_signal = stop.received();
  if (io_failure) {
    // Results are being lost: stop, and say exactly what is safe on disk.
    const int64_t saved = out ? out->lines_appended() : stats.done();
    const std::string where = out ? fmt::format(
                                        "{} results of this run are saved in {} (whole lines; --resume "
                                        "continues from there)",
                                        saved, out->path())
                                  : fmt::format("{} results were written", saved);
    spdlog::error("batch stopped: {}; {}", io_failure->what(), where);
    write_summary(b, stats, errc_exit_code(Errc::kIoError), quiet);
    throw Error(Errc::kIoError, fmt::format("{}; {}", io_failure->what(), where), {{"saved", saved}});
  }
  int exit_code = kExitOk;
  if (stats.stop_signal) {
    exit_code = 128 + stats.stop_signal;
    spdlog::warn("interrupted by {}: {} images answered, {} left; run again with --resume to finish",
                 signal_name(stats.stop_signal), stats.done(), stats.to_do() - stats.done());
  } else if (stats.failed > 0) {
    exit_code = kExitSomeFailed;
  }
  write_summary(b, stats, exit_code, quiet);
  return exit_code;
}

}  // namespace

void add_batch_command(CLI::App& app, int& exit_code) {
  auto b = std::make_shared<BatchCommand>();
  auto* cmd = app.add_subcommand("batch",
                                 "Run a task over a folder, a list file, an image, or paths on stdin (-); "
                                 "JSON Lines");
  cmd->add_option("input", b->input,
                  "Folder of images, one image, a file listing image paths, or - (paths on stdin)")
      ->required();
  cmd->add_option("--task", b->task, "describe (default) | ocr | count | ask")
      ->check(CLI::IsMember({"describe", "ocr", "count", "ask"}));
  cmd->add_option("--question", b->question, "The question for --task ask");
  cmd->add_option("--what", b->what, "What to count for --task count");
  cmd->add_option("-o,--output", b->output,
                  "Also append each result line to this file (locked while in use); {shard} becomes K");
  cmd->add_flag("--resume", b->resume,
                "Skip images with an ok result for the same settings already in --output");
  cmd->add_flag("-r,--recursive", b->recursive, "Walk sub-folders of a folder input");
  cmd->add_option("--shard", b->shard, "Take shard K of N (K from 0): a stable 1/N of INPUT by path hash");
  cmd->add_option("--shards", b->shards,
                  "N shards, K from the scheduler ($JOB_COMPLETION_INDEX; Slurm arrays need neither)");
  cmd->add_option("--summary", b->summary, "Also write the end-of-run summary object to this JSON file");
  add_run_options(cmd, b->run);
  add_engine_options(cmd, b->run);
  cmd->callback([b, &exit_code] { exit_code = run_batch(*b); });
}

}  // namespace fvlm::cli
