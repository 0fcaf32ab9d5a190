// oneDNN matmul primitives at the FastViTHD shapes (0.5B config, model resolution): what each data type
// reaches on this CPU and which oneDNN kernel runs it (primitive_desc::impl_info_str()). Data types:
// f32; bf16 x bf16 -> f32; u8 x s8 -> s32 and u8 x s8 -> f32 with per-output-channel scales.
// Shapes: per stage with 1024..16384 tokens (and the last, 256), ConvFFN fc1 [M, C] x [C, rC] and
// fc2 [M, rC] x [rC, C]; in attention stages also qkv [M, C] x [C, 3C], proj [M, C] x [C, C] and the
// per-head q k^T / attn v batches the encoder runs. Weights are packed once (format any) as the encoder
// does; the figure is the best of repeats (2 OP per MAC). Prints, never asserts.
// Usage: bench_dnnl_matmul [threads=2] [min_seconds_per_case=0.3]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/cpu_features.h"
#include "core/runtime.h"
#include "encoder/vision_precision.h"
#include "models/config.h"

using namespace fvlm;
using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;
using Clock = std::chrono::steady_clock;

namespace {

struct MatmulShape {
  std::string name;
  int64_t batch, m, k, n;
};

struct Types {
  const char* name;
  dt src, wei, dst;
  bool channel_scales;  // int8 -> f32: per-output-channel output scales (dequantisation)
};

const Types kTypes[] = {{"f32", dt::f32, dt::f32, dt::f32, false},
                        {"bf16", dt::bf16, dt::bf16, dt::f32, false},
                        {"u8s8s32", dt::u8, dt::s8, dt::s32, false},
                        {"u8s8f32", dt::u8, dt::s8, dt::f32, true}};

// The encoder's heads per attention call: the largest divisor of heads whose F32 scores fit ~8 MB
// (encoder/dnnl_plans.cpp, make_attention_plan).
int64_t heads_per_call(int64_t tokens, int64_t heads) {
  const int64_t budget = std::max<int64_t>(1, (int64_t(8) << 20) / 4 / (tokens * tokens));
  int64_t best = 1;
  for (int64_t h = 1; h <= heads; ++h)
    if (heads % h == 0 && h <= budget) best = h;
  return best;
}

std::vector<MatmulShape> fastvithd_shapes(const FastVitHdConfig& v) {
  std::vector<MatmulShape> out;
  int64_t side = v.image_size / 4;  // the stem has stride 4; each later stage halves the map
  for (int s = 0; s < v.num_stages(); ++s, side /= v.down_stride) {
    const int64_t m = side * side, c = v.embed_dims[size_t(s)], hidden = int64_t(c * v.mlp_ratios[size_t(s)]);
    if (m > 16384 || m < 256) continue;
    const auto name = [s](const char* layer) { return fmt::format("s{}.{}", s, layer); };
    out.push_back({name("fc1"), 1, m, c, hidden});
    out.push_back({name("fc2"), 1, m, hidden, c});
    if (!v.attention[size_t(s)]) continue;
    const int64_t hd = v.attention_head_dim, hc = heads_per_call(m, c / hd);
    out.push_back({name("qkv"), 1, m, c, 3 * c});
    out.push_back({name("proj"), 1, m, c, c});
    out.push_back({name("qk^T"), hc, m, hd, m});
    out.push_back({name("attn_v"), hc, m, m, hd});
  }
  return out;
}

struct Result {
  double gops = 0;
  std::string impl;
};

// Every element 0.5 (f32, bf16) or 1 (int8), in whatever layout the memory has (padding included).
void fill_half(memory& m, dt type) {
  const size_t bytes = m.get_desc().get_size();
  void* p = m.get_data_handle();
  if (type == dt::f32)
    std::fill_n(static_cast<float*>(p), bytes / 4, 0.5f);
  else if (type == dt::bf16)
    std::fill_n(static_cast<uint16_t*>(p), bytes / 2, uint16_t(0x3f00));
  else
    std::fill_n(static_cast<uint8_t*>(p), bytes, uint8_t(1));
}

Result run_case(Runtime& rt, const MatmulShape& s, const Types& t, double min_seconds) {
  const memory::desc src({s.batch, s.m, s.k}, t.src, tag::abc);
  const memory::desc wei_any({s.batch, s.k, s.n}, t.wei, tag::any);
  const memory::desc dst({s.batch, s.m, s.n}, t.dst, tag::abc);
  dnnl::primitive_attr attr;
  if (t.channel_scales) attr.set_output_scales(1 << 2, std::vector<float>(size_t(s.n), 0.01f));
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei_any, dst), attr, rt.engine());
  } catch (const dnnl::error&) {
    return {0, "no implementation"};
  }
  // Contents do not change the speed of these kernels, but denormals would: every value is 0.5 (or 1).
  memory src_m(pd.src_desc(), rt.engine()), wei_m(pd.weights_desc(), rt.engine()),
      dst_m(pd.dst_desc(), rt.engine());
  fill_half(src_m, t.src);
  fill_half(wei_m, t.wei);
  const dnnl::matmul prim(pd);
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  prim.execute(rt.stream(), args);  // warm-up
  rt.stream().wait();
  double best = 1e30, total = 0;
  for (int r = 0; r < 3 || total < min_seconds; ++r) {
    const auto t0 = Clock::now();
    prim.execute(rt.stream(), args);
    rt.stream().wait();
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, sec);
    total += sec;
  }
  return {2.0 * double(s.batch * s.m * s.k * s.n) / best * 1e-9, pd.impl_info_str()};
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const double min_seconds = argc > 2 ? std::atof(argv[2]) : 0.3;
  Runtime rt(threads);
  const ModelConfig cfg = released_config(ReleasedModel::k0_5B);
  const dnnl_version_t* ver = dnnl_version();
  std::printf("oneDNN %d.%d.%d, %d threads; cpu: %s; oneDNN bf16: %s\n", ver->major, ver->minor, ver->patch,
              rt.threads(), cpu_summary().c_str(),
              std::string(enc::bf16_support_name(enc::bf16_support())).c_str());
  std::printf("FastViTHD 0.5B at %d px; GOP/s = best of >= %.1f s, 2 OP per MAC\n", cfg.vision.image_size,
              min_seconds);
  std::printf("%-12s %5s %6s %6s %6s  %-8s %8s  %s\n", "layer", "batch", "M", "K", "N", "type", "GOP/s",
              "oneDNN impl");
  for (const MatmulShape& s : fastvithd_shapes(cfg.vision))
    for (const Types& t : kTypes) {
      const Result r = run_case(rt, s, t, min_seconds);
      std::printf("%-12s %5lld %6lld %6lld %6lld  %-8s %8.1f  %s\n", s.name.c_str(), (long long)s.batch,
                  (long long)s.m, (long long)s.k, (long long)s.n, t.name, r.gops, r.impl.c_str());
      std::fflush(stdout);
    }
  return 0;
}
