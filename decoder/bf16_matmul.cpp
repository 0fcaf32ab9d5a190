#include "decoder/bf16_matmul.h"

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <vector>

#include "core/parallel.h"
#include "quant/bf16_rows.h"

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
}  // namespace

Bf16Matmul::Bf16Matmul(int64_t pack_budget)
    : engine_(dnnl::engine::kind::cpu, 0), pack_budget_(pack_budget) {}

memory::desc Bf16Matmul::packed_desc(int64_t K, int64_t N) const {
  const memory::desc src({kPackForRows, K}, dt::bf16, tag::ab), any({K, N}, dt::bf16, tag::any),
      dst({kPackForRows, N}, dt::f32, tag::ab);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, any, dst), engine_).weights_desc();
}

const Bf16Packed* Bf16Matmul::packed(const Tensor& w) const {
  if (pack_budget_ <= 0) return nullptr;
  const int64_t N = w.dim(0), K = w.dim(1);
  const std::tuple<const void*, int64_t, int64_t> key{w.data(), N, K};
  std::lock_guard<std::mutex> lock(pack_mu_);
  PackSlot& slot = packed_[key];
  if (slot.w || !slot.seen) {
    slot.seen = true;
    return slot.w.get();
  }
  memory::desc want;
  {
    std::lock_guard<std::mutex> plans_lock(mu_);
    want = packed_desc(K, N);
  }
  if (packed_bytes_ + int64_t(want.get_size()) > pack_budget_) return nullptr;
  std::vector<uint16_t> plain(size_t(N * K));
  parallel_for(N, 16, [&](int64_t b, int64_t e) { quant::rows_to_bf16(w, b, e, plain.data() + b * K); });
  auto packed = std::make_unique<Bf16Packed>(Bf16Packed{memory(want, engine_), N, K});
  memory user(memory::desc({K, N}, dt::bf16, tag::ba), engine_, plain.data());
  dnnl::stream stream(engine_);
  dnnl::reorder(user, packed->mem).execute(stream, user, packed->mem);
  stream.wait();
  packed_bytes_ += int64_t(want.get_size());
  slot.w = std::move(packed);
  return slot.w.get();
}

int64_t Bf16Matmul::packed_bytes() const {
  std::lock_guard<std::mutex> lock(pack_mu_);
  return packed_bytes_;
}

std::shared_ptr<const Bf16Matmul::Plan> Bf16Matmul::plan(const Key& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  const auto [M, K, N, ldy, has_bias, packed] = key;
  auto p = std::make_shared<Plan>();
  p->src = memory::desc({M, K}, dt::bf16, tag::ab);
  // W [N, K] row-major = W^T [K, N] column-major, or the packed copy's layout
  p->wei = packed ? packed_desc(K, N) : memory::desc({K, N}, dt::bf16, tag::ba);
  p->bias = memory::desc({1, N}, dt::f32, tag::ab);
  p->dst = memory::desc({M, N}, dt::f32, memory::dims{ldy, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::desc d = has_bias ? dnnl::matmul::desc(p->src, p->wei, p->bias, p->dst)
                                        : dnnl::matmul::desc(p->src, p->wei, p->dst);
  const dnnl::matmul::primitive_desc pd(d, attr, engine_);
  p->prim = dnnl::matmul(pd);
  p->pad_bytes = pd.scratchpad_desc().get_size();
  spdlog::debug("llm bf16 matmul {}x{}x{}: {}", M, K, N, pd.impl_info_str());
  if (plans_.size() >= kMaxPlans) plans_.clear();
  plans_.emplace(key, p);
  return p;
}

void Bf16Matmul::run(const uint16_t* x, int64_t M, int64_t K, const uint16_t* w, int64_t N, const float* bias,
                     float* y, int64_t ldy, Bf16Scratch& s) const {
  const std::shared_ptr<const Plan> p = plan({M, K, N, ldy, bias != nullptr, false});
  execute(*p, x, memory(p->wei, engine_, const_cast<uint16_t*>(w)), bias, y, s);
}

void Bf16Matmul::run(const uint16_t* x, int64_t M, const Bf16Packed& w, const float* bias, float* y,
                     int64_t ldy, Bf16Scratch& s) const {
  const std::shared_ptr<const Plan> p = plan({M, w.k, w.n, ldy, bias != nullptr, true});
  execute(*p, x, w.mem, bias, y, s);
}

void Bf16Matmul::execute(const Plan& p, const uint16_t* x, const memory& w, const float* bias, float* y,
                         Bf16Scratch& s) const {
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

int64_t Bf16Matmul::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

}  // namespace fvlm::dec
