#include "decoder/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace fvlm::dec {

namespace {
int32_t argmax(std::span<const float> x) {
  return int32_t(std::max_element(x.begin(), x.end()) - x.begin());  // first maximum, as torch.argmax
}

// Uniform double in [0, 1) from 53 random bits (portable, unlike std::uniform_real_distribution).
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }
}  // namespace

Sampler::Sampler(SamplerOptions o) : o_(o), rng_(o.seed) {
  if (!(o.temperature >= 0.0f)) throw Error(Errc::kBadArgs, "temperature must be >= 0");
  if (o.top_k < 0) throw Error(Errc::kBadArgs, "top_k must be >= 0");
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) throw Error(Errc::kBadArgs, "top_p must be in (0, 1]");
  if (!(o.repetition_penalty > 0.0f)) throw Error(Errc::kBadArgs, "repetition_penalty must be > 0");
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  FVLM_CHECK(!logits.empty(), "sample: no logits");
  const int64_t V = int64_t(logits.size());
  scores_.assign(logits.begin(), logits.end());
  if (o_.repetition_penalty != 1.0f) {              // RepetitionPenaltyLogitsProcessor
    order_.assign(history.begin(), history.end());  // each distinct id once (torch.gather/scatter)
    std::sort(order_.begin(), order_.end());
    order_.erase(std::unique(order_.begin(), order_.end()), order_.end());
    for (int32_t id : order_) {
      if (id < 0 || id >= V) continue;
      float& s = scores_[size_t(id)];
      s = s < 0 ? s * o_.repetition_penalty : s / o_.repetition_penalty;
    }
  }
  if (o_.temperature == 0.0f) return argmax(scores_);

  for (float& s : scores_) s /= o_.temperature;  // TemperatureLogitsWarper
  // Candidates in descending score order: only the top_k (or the top 1024 when top-p alone is on, widened
  // to everything if they do not reach the mass) need sorting.
  order_.resize(size_t(V));
  std::iota(order_.begin(), order_.end(), 0);
  const auto by_score = [&](int32_t a, int32_t b) {
    return scores_[size_t(a)] > scores_[size_t(b)] || (scores_[size_t(a)] == scores_[size_t(b)] && a < b);
  };
  int64_t n = V;
  if (o_.top_k > 0 && o_.top_k < V) {  // TopKLogitsWarper
    std::nth_element(order_.begin(), order_.begin() + (o_.top_k - 1), order_.end(), by_score);
    const float kth = scores_[size_t(order_[size_t(o_.top_k - 1)])];
    n = std::partition(order_.begin(), order_.end(), [&](int32_t i) { return scores_[size_t(i)] >= kth; }) -
        order_.begin();
  }
  if (o_.top_p < 1.0f) {  // TopPLogitsWarper
    const float mx = *std::max_element(scores_.begin(), scores_.end());
    double z = 0;
    for (int64_t i = 0; i < n; ++i) z += std::exp(double(scores_[size_t(order_[size_t(i)])] - mx));
    int64_t sorted = std::min<int64_t>(n, 1024);
    for (;;) {
      std::partial_sort(order_.begin(), order_.begin() + sorted, order_.begin() + n, by_score);
      double mass = 0;
      int64_t keep = 0;
      while (keep < sorted && mass < double(o_.top_p) * z)  // keep while the mass before it is < top_p
        mass += std::exp(double(scores_[size_t(order_[size_t(keep++)])] - mx));
      if (mass >= double(o_.top_p) * z || sorted == n) {
        n = std::max<int64_t>(keep, 1);  // min_tokens_to_keep = 1
        break;
      }
      sorted = n;
    }
  }
  return draw({order_.data(), size_t(n)}, scores_);
}

int32_t Sampler::draw(std::span<const int32_t> ids, std::span<const float> scores) {
  float mx = -INFINITY;
  for (int32_t i : ids) mx = std::max(mx, scores[size_t(i)]);
  double z = 0;
  for (int32_t i : ids) z += std::exp(double(scores[size_t(i)] - mx));
  const double u = uniform01(rng_) * z;
  double acc = 0;
  for (int32_t i : ids) {
    acc += std::exp(double(scores[size_t(i)] - mx));
    if (u < acc) return i;
  }
  return ids.back();
}

}  // namespace fvlm::dec
