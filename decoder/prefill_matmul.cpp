#include "decoder/prefill_matmul.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/bf16_rows.h"
#include "quant/dequantize.h"
#include "quant/s8_rows.h"

namespace fvlm::dec {
namespace {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Prompt lengths differ per request, so the cache would grow with every new length; past this many
// plans (~100 lengths at 5 shapes each) it starts over rather than grow without bound.
constexpr size_t kMaxPlans = 512;
// The M the packed layout is asked for: oneDNN 2.6 picks the same weight layout for every M (checked
// from 1 to 1000 rows on AMX and AVX512_BF16), and a plan for another M is made with it as given.
constexpr int64_t kPackForRows = 256;

// One engine for every PrefillMatmul: a session's scratch keeps one stream, which the int8 and bf16
// matmuls of an int8 prefill share, and a stream only runs primitives of its own engine.
const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dt operand_type(MatmulOperands o) { return o == MatmulOperands::kS8 ? dt::s8 : dt::bf16; }
dt result_type(MatmulOperands o) { return o == MatmulOperands::kS8 ? dt::s32 : dt::f32; }
}  // namespace

PrefillMatmul::PrefillMatmul(int64_t pack_budget, MatmulOperands operands)
    : engine_(cpu_engine()), pack_budget_(pack_budget), operands_(operands) {}

memory::desc PrefillMatmul::packed_desc(int64_t K, int64_t N) const {
  const dt in = operand_type(operands_);
  const memory::desc src({kPackForRows, K}, in, tag::ab), any({K, N}, in, tag::any),
      dst({kPackForRows, N}, result_type(operands_), tag::ab);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, any, dst), engine_).weights_desc();
}

std::unique_ptr<PackedWeights> PrefillMatmul::pack(const Tensor& w, const memory::desc& want) const {
  const int64_t N = w.dim(0), K = w.dim(1);
  auto packed = std::make_unique<PackedWeights>(PackedWeights{memory(want, engine_), N, K, {}, nullptr});
  memory user;
  std::vector<uint16_t> plain_bf16;
  std::vector<int8_t> plain_s8;
  if (operands_ == MatmulOperands::kBf16) {
    plain_bf16.resize(size_t(N * K));
    parallel_for(N, 16,
                 [&](int64_t b, int64_t e) { quant::rows_to_bf16(w, b, e, plain_bf16.data() + b * K); });
    user = memory(memory::desc({K, N}, dt::bf16, tag::ba), engine_, plain_bf16.data());
  } else {
    plain_s8.resize(size_t(N * K));
    packed->scale.resize(size_t(N));
    packed->columns = std::make_unique<WeightColumns>();
    // the f32 values (as the FP32 path sees them), then requantised per row; a panel at a time
    const int64_t panel_rows = std::min<int64_t>(N, 1024);
    std::vector<float> panel(size_t(panel_rows * K));
    for (int64_t n0 = 0; n0 < N; n0 += panel_rows) {
      const int64_t rows = std::min(panel_rows, N - n0);
      parallel_for(rows, 16, [&](int64_t b, int64_t e) {
        quant::rows_to_f32(w, n0 + b, n0 + e, panel.data() + b * K);
      });
      quant::quantize_rows_s8(panel.data(), rows, K, plain_s8.data() + n0 * K, packed->scale.data() + n0);
    }
    user = memory(memory::desc({K, N}, dt::s8, tag::ba), engine_, plain_s8.data());
  }
  dnnl::stream stream(engine_);
  dnnl::reorder(user, packed->mem).execute(stream, user, packed->mem);
  stream.wait();
  return packed;
}

const PackedWeights* PrefillMatmul::packed(const Tensor& w) const {
  if (pack_budget_ <= 0) return nullptr;
  const int64_t N = w.dim(0), K = w.dim(1);
  const std::tuple<const void*, int64_t, int64_t> key{w.data(), N, K};
  std::lock_guard<std::mutex> lock(pack_mu_);
  PackSlot& slot = packed_[key];
  if (slot.w || slot.refused || (!slot.seen && operands_ == MatmulOperands::kBf16)) {
    slot.seen = true;
    return slot.w.get();
  }
  slot.seen = true;
  memory::desc want;
  {
    std::lock_guard<std::mutex> plans_lock(mu_);
    want = packed_desc(K, N);
  }
  if (packed_bytes_ + int64_t(want.get_size()) > pack_budget_) {
    slot.refused = true;
    return nullptr;
  }
  slot.w = pack(w, want);
  packed_bytes_ += int64_t(want.get_size());
  return slot.w.get();
}

int64_t PrefillMatmul::packed_bytes() const {
  std::lock_guard<std::mutex> lock(pack_mu_);
  return packed_bytes_;
}

std::shared_ptr<const PrefillMatmul::Plan> PrefillMatmul::plan(const Key& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const auto [M, K, N, ldy, has_bias, packed] = key;
  auto p = std::make_shared<Plan>();
  p->src = memory::desc({M, K}, operand_type(operands_), tag::ab);
  // W [N, K] row-major = W^T [K, N] column-major, or the packed copy's layout
  p->wei = packed ? packed_desc(K, N) : memory::desc({K, N}, dt::bf16, tag::ba);
  p->bias = memory::desc({1, N}, dt::f32, tag::ab);
  p->dst = memory::desc({M, N}, result_type(operands_), memory::dims{ldy, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc d = has_bias ? dnnl::matmul::desc(p->src, p->wei, p->bias, p->dst)
                                        : dnnl::matmul::desc(p->src, p->wei, p->dst);
  const dnnl::matmul::primitive_desc pd(d, attr, engine_);
  p->prim = dnnl::matmul(pd);
  p->pad_bytes = pd.scratchpad_desc().get_size();
  spdlog::debug("llm {} matmul {}x{}x{}: {}", operands_ == MatmulOperands::kS8 ? "s8" : "bf16", M, K, N,
                pd.impl_info_str());
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(key, p);
  return p;
}

void PrefillMatmul::run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N,
                        const float* bias, float* y, int64_t ldy, MatmulScratch& s) const {
  FVLM_CHECK(operands_ == MatmulOperands::kBf16, "prefill matmul: plain weights are bf16 only");
  const std::shared_ptr<const Plan> p = plan({M, K, N, ldy, bias != nullptr, false});
  execute(*p, x, memory(p->wei, engine_, const_cast<uint16_t*>(w)), bias, y, s);
}

void PrefillMatmul::run(const uint16_t* x, int64_t M, const PackedWeights& w, const float* bias, float* y,
                        int64_t ldy, MatmulScratch& s) const {
  FVLM_CHECK(operands_ == MatmulOperands::kBf16, "prefill matmul: bf16 run on s8 operands");
  const std::shared_ptr<const Plan> p = plan({M, w.k, w.n, ldy, bias != nullptr, true});
  execute(*p, x, w.mem, bias, y, s);
}

void PrefillMatmul::run(const int8_t* x, int64_t M, const PackedWeights& w, int32_t* y, int64_t ldy,
                        MatmulScratch& s) const {
  FVLM_CHECK(operands_ == MatmulOperands::kS8, "prefill matmul: s8 run on bf16 operands");
  const std::shared_ptr<const Plan> p = plan({M, w.k, w.n, ldy, false, true});
  execute(*p, x, w.mem, nullptr, y, s);
}

void PrefillMatmul::execute(const Plan& p, const void* x, const memory& w, const float* bias, void* y,
                            MatmulScratch& s) const {
  if (!s.stream) s.stream = dnnl::stream(engine_);
  const auto wrap = [&](const memory::desc& md, const void* ptr) {
    return memory(md, engine_, const_cast<void*>(ptr));
  };
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, wrap(p.src, x)}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, wrap(p.dst, y)}};
  if (bias) args[DNNL_ARG_BIAS] = wrap(p.bias, bias);
  if (p.pad_bytes) {
    if (s.pad.empty() || size_t(s.pad.nbytes()) < p.pad_bytes)
      s.pad = Tensor::zeros(DType::U8, {int64_t(p.pad_bytes)});
    args[DNNL_ARG_SCRATCHPAD] = wrap(memory::desc({int64_t(p.pad_bytes)}, dt::u8, tag::a), s.pad.data());
  }
  p.prim.execute(s.stream, args);
  s.stream.wait();
}

int64_t PrefillMatmul::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void PrefillMatmul::count_outliers(int columns) const {
  std::lock_guard lock(mu_);
  outliers_.add(columns);
}

OutlierCounts PrefillMatmul::outlier_counts() const {
  std::lock_guard lock(mu_);
  return outliers_;
}

}  // namespace fvlm::dec
