// Clean stops for long batches: the first SIGINT or SIGTERM (Ctrl-C, Slurm pre-emption, Kubernetes
// shutdown) only raises a flag that the batch loop reads between images, so the line in flight is
// finished and the summary written; a second one exits at once (exit code 128 + signal).
#pragma once
#include <csignal>

namespace fvlm::cli {

class StopSignals {
 public:
  StopSignals();   // installs the handlers
  ~StopSignals();  // restores the previous ones
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // 0, or the first signal received (SIGINT / SIGTERM).
  int received() const;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

const char* signal_name(int sig);  // "SIGINT", "SIGTERM"

}  // namespace fvlm::cli
