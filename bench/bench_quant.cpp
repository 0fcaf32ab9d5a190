// Quantised matmul throughput per variant on the real Qwen2-0.5B shapes (random weights):
//   decode: one token through 24 layers (q,k,v,o,gate,up,down) + lm_head, M = 1 -> tokens/s and
//           weight GB/s (bench/README.md: the machine's bandwidth and llama.cpp's figures);
//   prefill: one layer's matrices at M = 280 (image tokens + prompt) -> GOP/s (2*M*N*K per second);
//   crossover: int8 kernel vs dequantise + f32 sgemm (the decoder's prefill path) at growing M,
//           which sets decoder/linear.cpp's kDequantGemmMinRows.
// Each for the ggml block layouts and the packed ones (quant/packed.h) the engine uses in huge pages.
// Usage: bench_quant [--threads N] [--reps R] [--layouts ROUNDS]. Prints ratios against the scalar
// reference; --layouts only compares the layouts' decode in interleaved rounds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/huge_pages.h"
#include "core/parallel.h"
#include "decoder/gemm.h"
#include "quant/matmul_quant.h"
#include "quant/packed.h"

using namespace fvlm;
using namespace fvlm::quant;

namespace {

struct MatShape {
  const char* name;
  int64_t n, k;
};
constexpr int kLayers = 24, kHidden = 896, kKv = 128, kInter = 4864, kVocab = 151936, kPrefillM = 280;
const MatShape kLayerShapes[] = {{"q", kHidden, kHidden},  {"k", kKv, kHidden},       {"v", kKv, kHidden},
                                 {"o", kHidden, kHidden},  {"gate", kInter, kHidden}, {"up", kInter, kHidden},
                                 {"down", kHidden, kInter}};

struct Rng {
  uint64_t s = 88172645463325252ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Random valid blocks straight away (no f32 detour for 450M weights): small scales, random quants.
// In huge pages, as the engine keeps its LLM weights (decoder/weight_pages.h): from 4 KB pages the
// decode rows measure the TLB more than the kernels.
Tensor random_weight(Rng& rng, DType t, int64_t n, int64_t k) {
  if (is_packed(t)) {  // random ggml blocks, interleaved as the engine does at load
    const Tensor w = random_weight(rng, ggml_type(t), n, k);
    const std::shared_ptr<uint8_t> block = allocate_huge_pages(size_t(w.nbytes()));
    pack_groups(w, 0, n / kPackRows, block.get());
    return Tensor::view(t, {n, k}, block.get(), block);
  }
  const std::shared_ptr<uint8_t> block = allocate_huge_pages(size_t(dtype_bytes(t, n * k)));
  const Tensor w = Tensor::view(t, {n, k}, block.get(), block);
  uint8_t* p = block.get();
  const int64_t bb = t == DType::Q8_0 ? 34 : 18, blocks = n * k / 32;
  for (int64_t b = 0; b < blocks; ++b) {
    uint8_t* blk = p + b * bb;
    for (int64_t j = 2; j < bb; j += 8) {
      const uint64_t r = rng.next();
      std::memcpy(blk + j, &r, size_t(std::min<int64_t>(8, bb - j)));
    }
    const uint16_t d = f32_to_f16(1e-3f * float(1 + rng.next() % 8));
    std::memcpy(blk, &d, 2);
  }
  return w;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Model {
  std::vector<Tensor> layer_w;  // 24 x 7 matrices
  Tensor lm_head;
  int64_t bytes = 0;
};

Model make_model(Rng& rng, DType t) {
  Model m;
  for (int l = 0; l < kLayers; ++l)
    for (const MatShape& s : kLayerShapes) {
      m.layer_w.push_back(random_weight(rng, t, s.n, s.k));
      m.bytes += m.layer_w.back().nbytes();
    }
  m.lm_head = random_weight(rng, t, kVocab, kHidden);
  m.bytes += m.lm_head.nbytes();
  return m;
}

// One decode token: every matrix once with M = 1 (inputs are random; only the traffic matters).
double decode_token_seconds(const Model& m, const MatmulVariant& v, const float* x, float* y) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const Tensor& w : m.layer_w) matmul_quant(x, 1, w.dim(1), w, y, v);
  matmul_quant(x, 1, kHidden, m.lm_head, y, v);
  return seconds_since(t0);
}

// One decode step of M sequences decoded together (continuous batching, issue 14): every matrix
// once with M rows. Prints aggregate tokens/s (M per step) and GOP/s (2 * M * weights per second).
void batched_decode(const Model& m, const MatmulVariant& v, const float* x, float* y, int reps) {
  int64_t weights = 0;
  for (const Tensor& w : m.layer_w) weights += w.numel();
  weights += m.lm_head.numel();
  std::printf("  %s batched decode, M rows per step:", std::string(v.name).c_str());
  for (int64_t M = 1; M <= 8; ++M) {
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const Tensor& w : m.layer_w) matmul_quant(x, M, w.dim(1), w, y, v);
      matmul_quant(x, M, kHidden, m.lm_head, y, v);
      best = std::min(best, seconds_since(t0));
    }
    std::printf(" M=%lld %.0f tok/s %.0f GOP/s%s", (long long)M, double(M) / best,
                2.0 * double(M) * double(weights) / best / 1e9, M % 4 == 0 ? "\n   " : " |");
  }
  std::printf("\n");
}

// One layer's 7 matrices at M = 280 (ref: only gate, it is slow). Returns GOP/s, best of reps.
double prefill_gops(const Model& m, const MatmulVariant& v, const float* x, float* y, int reps) {
  const bool is_ref = v.name == "ref";
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    double secs = 0, ops = 0;
    for (int j = is_ref ? 4 : 0; j < (is_ref ? 5 : 7); ++j) {
      const Tensor& w = m.layer_w[size_t(j)];
      const auto t0 = std::chrono::steady_clock::now();
      matmul_quant(x, kPrefillM, w.dim(1), w, y, v);
      secs += seconds_since(t0);
      ops += 2.0 * kPrefillM * double(w.dim(0)) * double(w.dim(1));
    }
    best = std::max(best, ops / secs / 1e9);
  }
  return best;
}

// One layer's 7 matrices at M rows through `run(x, M, w, y)`; GOP/s, best of reps.
template <class Run>
double layer_gops(const Model& m, int64_t M, const float* x, float* y, int reps, Run&& run) {
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    double secs = 0, ops = 0;
    for (int j = 0; j < 7; ++j) {
      const Tensor& w = m.layer_w[size_t(j)];
      const auto t0 = std::chrono::steady_clock::now();
      run(x, M, w, y);
      secs += seconds_since(t0);
      ops += 2.0 * double(M) * double(w.dim(0)) * double(w.dim(1));
    }
    best = std::max(best, ops / secs / 1e9);
  }
  return best;
}

void crossover(const Model& m, DType t, const float* x, float* y, int reps) {
  const MatmulVariant& v = best_matmul(t);
  dec::GemmScratch scratch;
  std::printf("crossover (%s variant vs dequantise + sgemm, one layer):\n", std::string(v.name).c_str());
  for (int64_t M : {4, 8, 16, 32, 64, 128, 280}) {
    const double int8 =
        layer_gops(m, M, x, y, reps, [&](const float* a, int64_t rows, const Tensor& w, float* out) {
          matmul_quant(a, rows, w.dim(1), w, out, v);
        });
    const double f32 =
        layer_gops(m, M, x, y, reps, [&](const float* a, int64_t rows, const Tensor& w, float* out) {
          dec::gemm_xwt(a, rows, w.dim(1), w, out, w.dim(0), scratch);
        });
    std::printf("  M=%-4lld int8 %6.1f GOP/s | dequant+sgemm %6.1f GOP/s | ratio %.2f\n", (long long)M, int8,
                f32, f32 / int8);
  }
}

void bench_type(Rng& rng, DType t, int reps) {
  std::printf("== %s ==\n", std::string(dtype_name(t)).c_str());
  const Model m = make_model(rng, t);
  std::vector<float> x(size_t(kPrefillM) * kInter), y(size_t(kPrefillM) * kVocab);
  for (auto& v : x) v = float(int64_t(rng.next() % 2001) - 1000) * 1e-3f;
  const auto table = matmul_variants(t);
  double ref_tok = 0, ref_gops = 0;
  for (const MatmulVariant& v : table) {
    if (!cpu_has(v.feature)) {
      std::printf("%-11s skipped (cpu lacks %s)\n", std::string(v.name).c_str(),
                  std::string(cpu_feature_name(v.feature)).c_str());
      continue;
    }
    const bool is_ref = v.name == "ref";
    const int r = is_ref ? 1 : reps;
    decode_token_seconds(m, v, x.data(), y.data());  // warm-up
    double best = 1e30;
    for (int i = 0; i < r; ++i) best = std::min(best, decode_token_seconds(m, v, x.data(), y.data()));
    const double tok = 1.0 / best, gbs = double(m.bytes) / best / 1e9;
    const double gops = prefill_gops(m, v, x.data(), y.data(), is_ref ? 1 : std::max(1, r / 4));
    if (is_ref) {
      ref_tok = tok;
      ref_gops = gops;
    }
    std::printf("%-11s decode %7.1f tok/s %5.1f GB/s (weights %.0f MB) | prefill M=%d %7.1f GOP/s",
                std::string(v.name).c_str(), tok, gbs, double(m.bytes) / 1e6, kPrefillM, gops);
    if (!is_ref && ref_tok > 0)
      std::printf(" | x%.1f decode, x%.1f prefill vs ref", tok / ref_tok, gops / ref_gops);
    std::printf("\n");
    if (!is_ref) batched_decode(m, v, x.data(), y.data(), std::max(2, r / 4));
  }
  crossover(m, t, x.data(), y.data(), std::max(2, reps / 5));
}

// --layouts: decode (M = 1) and a batched step (M = 8) on the ggml and the packed layout of each
// type, in interleaved rounds (this VM's memory bandwidth drifts by +-20% over minutes: figures
// taken minutes apart do not compare).
void layouts_in_rounds(Rng& rng, int rounds, int reps) {
  const DType types[] = {DType::Q8_0, DType::Q8_0_R16, DType::Q4_0, DType::Q4_0_R16};
  std::vector<Model> models;
  for (DType t : types) models.push_back(make_model(rng, t));
  std::vector<float> x(size_t(8) * kInter), y(size_t(8) * kVocab);
  for (auto& v : x) v = float(int64_t(rng.next() % 2001) - 1000) * 1e-3f;
  for (int round = 0; round < rounds; ++round) {
    std::printf("round %d:", round + 1);
    for (size_t i = 0; i < models.size(); ++i) {
      const MatmulVariant& v = best_matmul(types[i]);
      double one = 1e30, eight = 1e30;
      for (int r = 0; r < reps; ++r) {
        one = std::min(one, decode_token_seconds(models[i], v, x.data(), y.data()));
        const auto t0 = std::chrono::steady_clock::now();
        for (const Tensor& w : models[i].layer_w) matmul_quant(x.data(), 8, w.dim(1), w, y.data(), v);
        matmul_quant(x.data(), 8, kHidden, models[i].lm_head, y.data(), v);
        eight = std::min(eight, seconds_since(t0));
      }
      std::printf(" | %s M=1 %.1f tok/s, M=8 %.0f tok/s", std::string(dtype_name(types[i])).c_str(),
                  1.0 / one, 8.0 / eight);
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 20, layout_rounds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--threads") threads = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--reps") reps = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--layouts") layout_rounds = std::atoi(argv[i + 1]);
  }
  set_num_threads(threads);
  std::printf(
      "bench_quant: Qwen2-0.5B shapes (24 layers, hidden %d, inter %d, vocab %d), %d threads, cpu: %s\n",
      kHidden, kInter, kVocab, threads, cpu_summary().c_str());
  Rng rng;
  if (layout_rounds > 0) {
    layouts_in_rounds(rng, layout_rounds, std::max(1, reps / 4));
    return 0;
  }
  // The ggml layouts (--weight-pages mapped) and the packed ones made at load (decoder/weight_pages.h).
  for (DType t : {DType::Q8_0, DType::Q8_0_R16, DType::Q4_0, DType::Q4_0_R16}) bench_type(rng, t, reps);
  return 0;
}
