#include "cli/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fvlm::cli {
namespace {

using namespace std::chrono_literals;
constexpr auto kLivePeriod = 250ms;  // a few redraws a second: readable, cheap
constexpr auto kPlainPeriod = 10s;   // a log file gets a line now and then, not a flood

std::string duration_text(double s) {
  if (s < 0 || !std::isfinite(s)) return "?";
  const auto t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

int terminal_columns() {
  winsize w{};
  return ::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0 ? w.ws_col : 80;
}

// The logger's sink while the live line is up: each log line first clears the progress line.
class ClearingSink final : public spdlog::sinks::sink {
 public:
  ClearingSink(std::vector<spdlog::sink_ptr> inner, Progress* progress)
      : inner_(std::move(inner)), p_(progress) {}
  void log(const spdlog::details::log_msg& m) override {
    p_->print_above([&] {
      for (auto& s : inner_)
        if (s->should_log(m.level)) s->log(m);
      for (auto& s : inner_) s->flush();
    });
  }
  void flush() override {
    for (auto& s : inner_) s->flush();
  }
  void set_pattern(const std::string& pattern) override {
    for (auto& s : inner_) s->set_pattern(pattern);
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    for (auto& s : inner_) s->set_formatter(f->clone());
  }

 private:
  std::vector<spdlog::sink_ptr> inner_;
  Progress* p_;
};

}  // namespace

std::string progress_text(const BatchStats& s) {
  const double secs = s.seconds_since(s.first_image);
  const double rate = secs > 0 ? double(s.done()) / secs : 0;
  const int64_t left = s.to_do() - s.done();
  std::string text = fmt::format("{}/{} done", s.done(), s.to_do());
  if (s.skipped) text += fmt::format(" (+{} before)", s.skipped);
  text += fmt::format(", {} failed, {:.2f} images/s, {:.1f} tokens/s, ETA {}", s.failed, rate,
                      secs > 0 ? double(s.tokens) / secs : 0.0,
                      rate > 0 ? duration_text(double(left) / rate) : "?");
  if (s.shard.n > 1) text += fmt::format(" [shard {}]", shard_name(s.shard));
  return text;
}

Progress::Mode Progress::mode_for_stderr(bool quiet) {
  if (quiet) return Mode::kOff;
  return ::isatty(STDERR_FILENO) ? Mode::kLive : Mode::kPlain;
}

Progress::Progress(Mode mode) : mode_(mode) {
  if (mode_ == Mode::kOff) return;
  if (mode_ == Mode::kLive) {
    auto& sinks = spdlog::default_logger()->sinks();
    logger_sinks_ = sinks;
    sinks = {std::make_shared<ClearingSink>(logger_sinks_, this)};
  }
  last_plain_ = BatchStats::Clock::now();
  ticker_ = std::thread([this] { tick_loop(); });
}

Progress::~Progress() {
  if (mode_ == Mode::kOff) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  ticker_.join();
  std::lock_guard lock(mu_);
  clear_locked();
  if (mode_ == Mode::kLive) spdlog::default_logger()->sinks() = logger_sinks_;
}

void Progress::update(const BatchStats& s) {
  if (mode_ == Mode::kOff) return;
  std::lock_guard lock(mu_);
  stats_ = s;
  // The first figures go on screen at once, not a tick later: a short batch (or one whose first
  // image takes long) shows its progress line from the start.
  const bool first = !have_stats_;
  have_stats_ = true;
  if (first && mode_ == Mode::kLive) draw_locked();
}

void Progress::print_above(const std::function<void()>& write) {
  if (mode_ != Mode::kLive) return write();
  std::lock_guard lock(mu_);
  const bool was_drawn = drawn_;
  clear_locked();
  write();
  if (was_drawn) draw_locked();
}

void Progress::tick_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kLivePeriod, [this] { return stopping_; });
    if (stopping_ || !have_stats_) continue;
    if (mode_ == Mode::kLive) {
      draw_locked();
    } else if (BatchStats::Clock::now() - last_plain_ >= kPlainPeriod) {
      last_plain_ = BatchStats::Clock::now();
      std::fprintf(stderr, "fastvlm batch: %s\n", progress_text(stats_).c_str());
      std::fflush(stderr);
    }
  }
}

void Progress::draw_locked() {
  std::string text = "batch " + progress_text(stats_);
  const size_t width = size_t(std::max(20, terminal_columns() - 1));  // never wrap: \r returns one row only
  if (text.size() > width) text.resize(width);
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear_locked() {
  if (!drawn_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace fvlm::cli
