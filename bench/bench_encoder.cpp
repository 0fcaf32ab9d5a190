// FastViTHD encoder latency at the real FastVLM shapes (random weights): per resolution, min and
// median of repeats after a warm-up, achieved GFLOP/s (2 FLOP per MAC), a per-stage breakdown and a
// per-op one (wall and process CPU time per thread: on a shared machine the CPU column is the steadier).
// Usage: bench_encoder [threads=2] [repeats=5] [resolutions=256,512,768,1024,1536] [breakdown_res=1024]
//                      [precision=f32|bf16|int8|auto]
//   (bf16: oneDNN bf16 Linear / 1x1 / attention matmuls; int8: the opt-in INT8 Linear / 1x1 path)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/process_usage.h"
#include "core/runtime.h"
#include "encoder/vision_backend.h"
#include "models/random_weights.h"
#include "models/tensor_table.h"

using namespace fvlm;
using Clock = std::chrono::steady_clock;

namespace {
// GMAC per image of FastViTHD (fastvlm-reference.md §1.6).
const std::map<int, double> kGmac = {{256, 14.8}, {512, 59.6}, {768, 135.2}, {1024, 243.4}, {1536, 566.8}};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Tensor random_pixels(int64_t res) {
  Tensor t = Tensor::zeros(DType::F32, {1, 3, res, res});
  uint32_t s = 12345;
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = float((s = s * 1664525u + 1013904223u) >> 8) / float(1 << 24);
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  std::vector<int> resolutions{256, 512, 768, 1024, 1536};
  if (argc > 3) {
    resolutions.clear();
    std::stringstream ss(argv[3]);
    for (std::string r; std::getline(ss, r, ',');) resolutions.push_back(std::stoi(r));
  }
  const int breakdown_res = argc > 4 ? std::atoi(argv[4]) : 1024;
  const enc::VisionPrecision precision = enc::parse_vision_precision(argc > 5 ? argv[5] : "f32");

  Runtime rt(threads);
  const ModelConfig cfg = released_config(ReleasedModel::k0_5B);
  TensorMap weights = random_weights(vision_tensor_table(cfg), 1, DType::BF16);
  weights.merge(random_weights(projector_tensor_table(cfg), 2, DType::BF16));
  enc::CpuVisionBackend backend(rt, vision_config(cfg), weights, precision);
  std::printf(
      "FastViTHD (0.5B shapes, random weights), %s (bf16 in oneDNN: %s), %d threads, "
      "%d repeats after 1 warm-up\ncpu: %s\n",
      std::string(enc::vision_precision_name(backend.precision())).c_str(),
      std::string(enc::bf16_support_name(enc::bf16_support())).c_str(), rt.threads(), repeats,
      cpu_summary().c_str());
  std::printf("%6s %8s %9s %9s %9s %8s %7s %11s\n", "res", "GMAC", "plan_s", "min_s", "median_s", "GFLOP/s",
              "%peak", "cpu/thr_s");
  for (const int res : resolutions) {
    const Tensor pixels = random_pixels(res);
    const auto t_plan = Clock::now();
    backend.plan(res, 1);
    const double plan_s = seconds_since(t_plan);
    backend.encode(pixels);  // warm-up
    std::vector<double> times, cpu;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
      const double c0 = process_cpu_seconds();
      backend.encode(pixels);
      times.push_back(seconds_since(t0));
      cpu.push_back((process_cpu_seconds() - c0) / rt.threads());
    }
    std::sort(cpu.begin(), cpu.end());
    std::sort(times.begin(), times.end());
    const double gmac = kGmac.count(res) ? kGmac.at(res) : 0.0;
    const double gflops = 2 * gmac / times.front();
    std::printf("%6d %8.1f %9.3f %9.3f %9.3f %8.1f %6.1f%% %11.3f\n", res, gmac, plan_s, times.front(),
                times[times.size() / 2], gflops, 100 * gflops / 490.0, cpu.front());
    std::fflush(stdout);
  }

  // Per-stage breakdown from the taps (the CPU stream is synchronous): min over repeats.
  const Tensor pixels = random_pixels(breakdown_res);
  std::map<std::string, double> best, best_cpu;
  std::vector<std::string> order;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    auto last = Clock::now();
    double last_cpu = process_cpu_seconds();
    const auto t0 = last;
    backend.set_tap([&](std::string_view name, const Tensor&) {
      const double dt = seconds_since(last), dc = (process_cpu_seconds() - last_cpu) / rt.threads();
      const std::string n(name);
      if (!best.count(n)) order.push_back(n), best[n] = dt, best_cpu[n] = dc;
      best[n] = std::min(best[n], dt);
      best_cpu[n] = std::min(best_cpu[n], dc);
      last = Clock::now();
      last_cpu = process_cpu_seconds();
    });
    backend.encode(pixels);
    const double total = seconds_since(t0);
    if (!best.count("total")) best["total"] = total;
    best["total"] = std::min(best["total"], total);
  }
  backend.set_tap({});
  const auto layout = fastvithd_network_layout(cfg.vision);
  std::printf("\nper-stage at %d px (min over %d runs; the SE+GELU tail is inside conv_exp):\n",
              breakdown_res, repeats);
  for (size_t i = 0; i < order.size(); ++i) {
    std::string what = order[i];
    if (what.starts_with("network_")) {
      const auto& e = layout[std::stoi(what.substr(8))];
      what += e.kind == NetworkModule::kStage        ? " stage " + std::to_string(e.stage)
              : e.kind == NetworkModule::kPatchEmbed ? " patch_embed"
                                                     : " rep_cpe";
    }
    std::printf("  %-26s %8.4f s %5.1f%%   cpu/thr %8.4f s\n", what.c_str(), best[order[i]],
                100 * best[order[i]] / best["total"], best_cpu[order[i]]);
  }
  std::printf("  %-26s %8.4f s\n", "total", best["total"]);

  // Per-op breakdown (fastvithd.h OpMarkFn): each kind of op summed over one encode, min over repeats.
  struct OpSum {
    double wall = 0, cpu = 0;
    int calls = 0;
  };
  std::map<std::string, OpSum> op_best;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    std::map<std::string, OpSum> run;
    auto last = Clock::now();
    double last_cpu = process_cpu_seconds();
    backend.set_op_mark([&](std::string_view op) {
      OpSum& o = run[std::string(op)];
      o.wall += seconds_since(last);
      o.cpu += (process_cpu_seconds() - last_cpu) / rt.threads();
      ++o.calls;
      last = Clock::now();
      last_cpu = process_cpu_seconds();
    });
    backend.encode(pixels);
    for (const auto& [op, o] : run) {
      auto it = op_best.find(op);
      if (it == op_best.end())
        op_best[op] = o;
      else
        it->second = {std::min(it->second.wall, o.wall), std::min(it->second.cpu, o.cpu), o.calls};
    }
  }
  backend.set_op_mark({});
  std::vector<std::pair<std::string, OpSum>> ops(op_best.begin(), op_best.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.cpu > b.second.cpu; });
  double op_total = 0, op_total_cpu = 0;
  for (const auto& [op, o] : ops) op_total += o.wall, op_total_cpu += o.cpu;
  std::printf("\nper op at %d px (each kind summed over one encode, min over %d runs; sorted by cpu/thr):\n",
              breakdown_res, repeats);
  for (const auto& [op, o] : ops)
    std::printf("  %-26s %8.4f s %5.1f%%   cpu/thr %8.4f s %5.1f%%   calls %4d\n", op.c_str(), o.wall,
                100 * o.wall / op_total, o.cpu, 100 * o.cpu / op_total_cpu, o.calls);
  std::printf("  %-26s %8.4f s          cpu/thr %8.4f s\n", "sum", op_total, op_total_cpu);
  return 0;
}
