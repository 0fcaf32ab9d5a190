// `bench --compare-precision [IMAGES...]`: every vision precision this CPU runs, on the user's model
// and images, against f32: feature cosine, first-token and greedy-answer agreement, encode and
// time-to-first-token, with the ISA tiers and oneDNN's kernels; then every LLM (prefill) precision
// against f32 with the encoder at f32: last-prompt-position logits cosine, the same agreements,
// prefill and time to first token. One JSON object on stdout.
#pragma once
#include <string>
#include <vector>

#include "cli/common_options.h"
#include "core/image.h"

namespace fvlm::cli {

struct ComparePrecisionOptions {
  RunOptions run;
  std::vector<std::string> images;  // empty: the synthetic test card
  int repeats = 3, warmup = 1;
  int answer_tokens = 12;  // greedy tokens compared per image
  std::string question;
};

int run_compare_precision(const ComparePrecisionOptions& o);

// A deterministic test card (gradients and bars), bench's image when none is given: content does not
// change the work, only the resolution does.
Image bench_test_card();

// The median of timings (the mean of the middle two for an even count); v is not empty.
double median(std::vector<double> v);

}  // namespace fvlm::cli
