// `bench --batch INPUT --parallel 1,2,4,8`: images/s and generated tokens/s of the batching engine
// at each --parallel, on the user's own model and images: what an operator sizes a batch job
// (`batch --parallel N`) with. The images are decoded once beforehand, so the figures are the
// engine's (in `batch` the next images decode on another thread meanwhile).
#pragma once
#include <string>
#include <vector>

#include "cli/common_options.h"

namespace fvlm::cli {

struct BatchBench {
  RunOptions run;               // model, image and generation options; run.engine: kv budget, run-ahead
  std::string input;            // a folder, a list file or one image (as `batch INPUT`)
  std::vector<int> parallels;   // one measurement per value
  int limit = 16;               // the first `limit` images of INPUT
  int warmup = 1;               // images answered first, untimed (plans, first touch of the weights)
  std::string question;         // sent with every image
  std::string format = "json";  // json | table | csv
};

// One line per --parallel value. Returns the exit code: 0, or 1 when some image failed (each
// line counts its failures).
int run_batch_bench(const BatchBench& b);

}  // namespace fvlm::cli
