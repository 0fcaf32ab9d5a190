// The batch's progress on stderr: on a terminal one line redrawn in place (at most 4 times a
// second); otherwise (CI, Slurm logs) a plain line every 10 s. Everything else that goes to the
// terminal (log lines, result lines when stdout is the same terminal, the summary) passes through
// print_above(), which clears the progress line first and redraws it after, so the two never mix.
#pragma once
#include <spdlog/sinks/sink.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/batch_summary.h"

namespace fvlm::cli {

class Progress {
 public:
  enum class Mode { kOff, kLive, kPlain };
  // kLive when stderr is a terminal, kPlain when not, kOff when quiet.
  static Mode mode_for_stderr(bool quiet);

  explicit Progress(Mode mode);  // kLive also routes the logger through print_above()
  ~Progress();                   // stops the ticker, clears the line, restores the logger
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // The latest counts; the ticker thread draws from them.
  void update(const BatchStats& s);
  // Runs `write` (which writes to the terminal) with the progress line out of the way.
  void print_above(const std::function<void()>& write);

 private:
  void tick_loop();
  void draw_locked();
  void clear_locked();

  Mode mode_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool drawn_ = false;
  bool have_stats_ = false;
  BatchStats stats_;
  BatchStats::Clock::time_point last_plain_{};
  std::vector<spdlog::sink_ptr> logger_sinks_;  // the logger's own sinks while kLive wraps them
  std::thread ticker_;
};

// "120/1000 done, 2 failed, 1.4 images/s, 48 tokens/s, ETA 11m20s"
std::string progress_text(const BatchStats& s);

}  // namespace fvlm::cli
